"""Runs the enabled agents, each supervised: a crash is logged and the agent restarts with
exponential backoff; status, restarts and the last error are in the `agents` section.

Agent modules come from the active slot's `agents/` directory when it has `<name>.py`,
else from the built-in top-level `agents` package. A module defines `async def run(ctx)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edgetui.agent_host.context import AgentContext
from edgetui.config import AgentsConfig
from edgetui.models.agents import AgentRow, AgentStatus
from edgetui.models.clock import rfc3339
from edgetui.models.serde import to_dict
from edgetui.models.slot import SlotContent

log = logging.getLogger(__name__)
STATUSES = tuple(AgentStatus)
AgentRun = Callable[[AgentContext], Awaitable[None]]


@dataclass
class AgentState(AgentRow):
    """What the supervisor knows about one agent: its row of the section, and its task."""

    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def row(self) -> AgentRow:
        """This agent's row of the `agents` section (without the task)."""
        return AgentRow(**{f.name: getattr(self, f.name) for f in fields(AgentRow)})


def slot_agents_dir(state_dir: Path) -> Path | None:
    """The active slot's agents directory, when there is an active slot that has one."""
    current = Path(state_dir) / "slots" / "current"
    if not current.exists():
        return None
    try:
        slot = SlotContent.load(current)
    except ValueError as exc:
        log.warning("agents: %s; using the built-in agents", exc)
        return None
    return slot.agents_dir if slot.agents_dir is not None and slot.agents_dir.is_dir() else None


def load_agent(name: str, agents_dir: Path | None) -> tuple[AgentRun, str]:
    """The agent's `run` and where it came from; raises ImportError/AttributeError."""
    if agents_dir is not None and (agents_dir / f"{name}.py").is_file():
        path = agents_dir / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"edgetui_slot_agents.{name}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        origin = str(path)
    else:
        module = importlib.import_module(f"agents.{name}")
        origin = f"built-in agents.{name}"
    run = getattr(module, "run", None)
    if not callable(run):
        raise AttributeError(f"agent module {origin} has no run(ctx)")
    return run, origin


class AgentSupervisor:
    """Service "agents": one supervised task per enabled agent."""

    name = "agents"

    def __init__(
        self,
        config: AgentsConfig,
        *,
        bus: Any,
        inference: Any | None,
        device_id: str,
        device_type: str,
        state_dir: Path,
        agents_dir: Path | None = None,
        slot_agents: bool = False,
    ) -> None:
        self.config = config
        self.bus = bus
        self.inference = inference
        self.device_id = device_id
        self.device_type = device_type
        self.state_dir = Path(state_dir)
        self.agents_dir = agents_dir
        # Look the booted slot's agents/ up at start (slot.json is read off the event loop).
        self.slot_agents = slot_agents
        self.states: dict[str, AgentState] = {n: AgentState(n) for n in config.enabled}
        self._drill_holds: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
        if self.slot_agents:
            self.agents_dir = await asyncio.to_thread(slot_agents_dir, self.state_dir)
        for state in self.states.values():
            self._launch(state)

    def _launch(self, state: AgentState) -> None:
        state.task = asyncio.create_task(self._supervise(state), name=f"agent-{state.name}")

    async def stop(self) -> None:
        for state in self.states.values():
            state.status = AgentStatus.UPDATING
        await asyncio.gather(*(self._cancel(s) for s in self.states.values()))

    async def _cancel(self, state: AgentState) -> None:
        task, state.task = state.task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    def _context(self, state: AgentState) -> AgentContext:
        def report(status: str, detail: dict[str, Any] | None) -> None:
            if status in STATUSES:
                state.status = AgentStatus(status)
            if detail:
                state.detail.update(detail)

        return AgentContext(
            name=state.name,
            bus=self.bus,
            inference=self.inference,
            settings=dict(self.config.settings.get(state.name, {})),
            device_id=self.device_id,
            device_type=self.device_type,
            state_dir=self.state_dir,
            log=logging.getLogger(f"agents.{state.name}"),
            report=report,
        )

    async def _supervise(self, state: AgentState) -> None:
        delay = self.config.backoff_min_s
        while True:
            began = time.monotonic()
            try:
                # exec_module reads and compiles a file: off the event loop.
                run, state.origin = await asyncio.to_thread(load_agent, state.name, self.agents_dir)
                state.status = AgentStatus.RUNNING
                state.started_at = rfc3339()
                state.detail = {}  # what this run reports, not what a crashed one left
                await run(self._context(state))
                raise RuntimeError("run() returned; an agent runs until cancelled")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state.status = AgentStatus.ERROR
                state.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.error("agent %s crashed: %s", state.name, state.last_error, exc_info=exc)
            if time.monotonic() - began >= self.config.stable_after_s:
                delay = self.config.backoff_min_s  # it ran fine for a while: start over
            log.warning("agent %s restarts in %.2fs", state.name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2.0, self.config.backoff_max_s)
            state.restarts += 1

    async def restart(self, name: str) -> None:
        """Restart one agent now (status "updating" meanwhile); the restart is counted."""
        state = self.states.get(name)
        if state is None:
            raise KeyError(name)
        state.status = AgentStatus.UPDATING
        await self._cancel(state)
        state.restarts += 1
        self._launch(state)

    async def drill_crash(self, name: str) -> None:
        """Fire-drill hook (`edgetui drill agent-crash`): kill the agent's task now and keep
        it down (status "error") until `drill_release`; the restart then counts."""
        state = self.states[name]
        await self._cancel(state)
        state.status = AgentStatus.ERROR
        state.last_error = "DrillCrash: killed by `edgetui drill agent-crash`"
        release = self._drill_holds[name] = asyncio.Event()

        async def held() -> None:
            await release.wait()
            state.restarts += 1
            await self._supervise(state)

        state.task = asyncio.create_task(held(), name=f"agent-{name}-held")

    def drill_release(self, name: str) -> None:
        """Let an agent held down by `drill_crash` start again."""
        hold = self._drill_holds.pop(name, None)
        if hold is not None:
            hold.set()

    def section(self) -> list[AgentRow]:
        """The `agents` section: one row per enabled agent, in config order."""
        return [s.row() for s in self.states.values()]

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        async def status(_: dict[str, Any]) -> list[dict[str, Any]]:
            return to_dict(self.section())

        async def restart(params: dict[str, Any]) -> list[dict[str, Any]]:
            from edgetui.api import APIError

            name = params.get("name")
            if name not in self.states:
                raise APIError(f"no enabled agent named {name!r}", code=-32602)
            await self.restart(str(name))
            return to_dict(self.section())

        return {"agents.status": status, "agents.restart": restart}
