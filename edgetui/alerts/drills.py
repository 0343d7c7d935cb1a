"""Fire drills: cause a failure (for real where that is safe, injected where not), check that
the expected alert goes pending then firing within its rule's time, restore, check that it
resolves, and report the timings. Alerts raised during a drill carry the label drill=true.

The drills reach the other parts only through `DrillHooks`, handed in by the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edgetui.alerts.checks import MISSING, PathError, resolve
from edgetui.alerts.rules import Rule
from edgetui.alerts.state import FIRING, PENDING, RESOLVED, Alert


class DrilledEngine(Protocol):
    """What a drill reads and hooks of the alert engine (`AlertEngine` has it; the engine
    imports this module to run a drill, so this module does not import the engine)."""

    rules: dict[str, Rule]
    active: dict[str, Alert]
    drilling: set[str]
    listeners: list[Callable[[Alert, str], None]]
    last_snapshot: dict[str, Any]


DRILLS = ("agent-crash", "uplink-offline", "cpu-burn", "slow-model", "disk-full")
DEAD_URL = "mqtt://127.0.0.1:9"  # the discard port: nothing listens there on a device
LEAD_TICKS = 3  # ticks a failure may take to show up in the status (sampling, reconnects)
CPU_SETTLE_S = 5.0  # cpu-burn: time for the CPU figure to fall back after the burn stops
PROBE_REFILL_S = 120.0  # slow-model: time for fast probes to push the slow ones out of p95


class DrillError(Exception):
    """A drill cannot run here (the part it needs is not running, the alert is active)."""


@dataclass
class DrillHooks:
    """What the drills may do to the other parts (callables from the runtime; None where
    the part is not running)."""

    tick_s: float
    agent_names: Callable[[], list[str]] = list
    crash_agent: Callable[[str], Awaitable[None]] | None = None
    release_agent: Callable[[str], None] | None = None
    redirect_uplink: Callable[[str | None], None] | None = None
    set_disk_free_gb: Callable[[float | None], None] | None = None
    set_inference_delay: Callable[[float], None] | None = None
    probe_inference: Callable[[], Awaitable[Any]] | None = None  # one short real completion
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    rule: str
    labels: dict[str, str]
    cause: Callable[[], Awaitable[None]]
    restore: Callable[[], Awaitable[None]]
    detail: str
    background: Callable[[], Awaitable[None]] | None = None  # runs from cause to the end
    resolve_extra_s: float = 0.0  # what resolving takes beyond keep_firing_for_s
    fire_extra_s: float = 0.0  # what the failure takes to show beyond a few ticks


class _CpuBurn:
    """One busy-looping subprocess per core (killed on restore, by their own pids)."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        for _ in range(os.cpu_count() or 1):
            self.procs.append(
                await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
            )

    async def stop(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
        for p in self.procs:
            await p.wait()
        self.procs.clear()


async def _noop() -> None:
    return None


def _plan(name: str, hooks: DrillHooks, params: dict[str, Any]) -> _Plan:
    if name == "agent-crash":
        if hooks.crash_agent is None or hooks.release_agent is None or not hooks.agent_names():
            raise DrillError("agent-crash: no agents are running")
        agent = str(params.get("agent") or hooks.agent_names()[0])
        if agent not in hooks.agent_names():
            raise DrillError(f"agent-crash: no running agent named {agent!r}")
        crash, release = hooks.crash_agent, hooks.release_agent

        async def cause() -> None:
            await crash(agent)

        async def restore() -> None:
            release(agent)

        return _Plan("agent_down", {"agent": agent}, cause, restore, f"killed agent {agent}")
    if name == "uplink-offline":
        redirect = hooks.redirect_uplink
        if redirect is None:
            raise DrillError("uplink-offline: no broker configured ([uplink] url is empty)")

        async def cause() -> None:
            redirect(DEAD_URL)

        async def restore() -> None:
            redirect(None)

        return _Plan("uplink_offline", {}, cause, restore, f"uplink pointed at {DEAD_URL}")
    if name == "cpu-burn":
        burn = _CpuBurn()
        return _Plan(
            "cpu_high",
            {},
            burn.start,
            burn.stop,
            f"{os.cpu_count()} busy processes",
            # The CPU figure is an average over the last tick, and a device's own work goes on
            # meanwhile: give it a few seconds to fall under the clear level.
            resolve_extra_s=CPU_SETTLE_S,
        )
    if name == "disk-full":
        set_disk = hooks.set_disk_free_gb
        if set_disk is None:
            raise DrillError("disk-full: the sampler cannot be told (not this runtime's)")

        async def cause() -> None:
            set_disk(0.0)

        async def restore() -> None:
            set_disk(None)

        return _Plan("disk_low", {}, cause, restore, "sampler reports 0 GB free (simulated)")
    if name == "slow-model":
        return _slow_model(hooks, params)
    raise DrillError(f"unknown drill {name!r} (drills: {', '.join(DRILLS)})")


def _slow_model(hooks: DrillHooks, params: dict[str, Any]) -> _Plan:
    """Injected latency, with probe requests so that it is measured even without traffic:
    one per tick while slow, then back to back after the restore, so the latency window
    fills with fast requests again."""
    delay, probe = hooks.set_inference_delay, hooks.probe_inference
    if delay is None or probe is None:
        raise DrillError("slow-model: inference is not running")
    seconds = float(params.get("delay_s") or 1.0)
    restored = asyncio.Event()

    async def cause() -> None:
        try:
            await probe()
        except Exception as exc:
            raise DrillError(f"slow-model: the model does not answer: {exc}") from None
        delay(seconds)

    async def restore() -> None:
        delay(0.0)
        restored.set()

    async def pump() -> None:
        while True:
            try:
                await probe()
            except Exception:  # busy or timed out: counted by the engine; try again later
                await asyncio.sleep(hooks.tick_s)
            if not restored.is_set():
                await asyncio.sleep(hooks.tick_s)

    return _Plan(
        "inference_slow",
        {},
        cause,
        restore,
        f"+{seconds:g} s per inference (injected) and probe requests",
        background=pump,
        resolve_extra_s=PROBE_REFILL_S,
        fire_extra_s=2 * seconds,  # the first slow request must finish to be measured
    )


def _has_path(snapshot: dict[str, Any], path: str) -> bool:
    """Does the status have this path (its value may still be null)?"""
    try:
        return (
            resolve(snapshot, path) is not MISSING or snapshot.get(path.split(".")[0]) is not None
        )
    except PathError:
        return False


def _no_baseline(snapshot: dict[str, Any], path: str) -> bool:
    """A ratio to the latency baseline (the built-in `inference_slow`) cannot move before the
    model version has a baseline: the drill's probe requests make latencies, not baselines."""
    if not path.endswith("p95_ratio"):
        return False
    inference = snapshot.get("inference")
    return not isinstance(inference, dict) or inference.get("baseline") is None


def _matches(alert: Alert, rule: str, labels: dict[str, str]) -> bool:
    return alert.name == rule and all(alert.labels.get(k) == v for k, v in labels.items())


async def run_drill(
    name: str, engine: DrilledEngine, hooks: DrillHooks, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run one drill; the report's `ok` is true only when the alert went pending (when its
    rule waits), fired within for_s plus LEAD_TICKS ticks, and resolved after the restore."""
    params = params or {}
    plan = _plan(name, hooks, params)
    rule = _drillable_rule(name, plan, engine)
    lead = LEAD_TICKS * hooks.tick_s
    fire_within = rule.for_s + lead + plan.fire_extra_s
    resolve_within = (
        rule.keep_firing_for_s
        + lead
        + plan.resolve_extra_s
        + (rule.window_s if rule.check == "agent_restarts" else 0)
    )
    started = time.monotonic()
    run = await _run_plan(name, plan, engine, hooks, fire_within, resolve_within)
    steps = _steps(run, rule, plan, fire_within + hooks.tick_s, fire_within, resolve_within)
    return {
        "drill": name,
        "rule": plan.rule,
        "labels": {**plan.labels, "drill": True},
        "cause": plan.detail,
        "ok": all(s["ok"] for s in steps),
        "steps": steps,
        "total_s": round(time.monotonic() - started, 2),
    }


def _drillable_rule(name: str, plan: _Plan, engine: DrilledEngine) -> Rule:
    """The rule the drill proves; DrillError when its alert could not fire or is active."""
    rule = engine.rules.get(plan.rule)
    if rule is None:
        raise DrillError(f"{name}: rule {plan.rule} is disabled in [[alerts.rules]]")
    if rule.metric and not _has_path(engine.last_snapshot, rule.metric):
        raise DrillError(
            f"{name}: rule {plan.rule} reads {rule.metric}, which the status does not have "
            "now: the alert could not fire"
        )
    if rule.metric and _no_baseline(engine.last_snapshot, rule.metric):
        raise DrillError(
            f"{name}: rule {plan.rule} reads {rule.metric}, and this model version has no "
            "latency baseline yet (recorded after a commit): the alert could not fire"
        )
    if any(_matches(a, plan.rule, plan.labels) for a in engine.active.values()):
        raise DrillError(f"{name}: alert {plan.rule} is already active; nothing to prove")
    return rule


@dataclass
class _Run:
    """When each transition was seen (monotonic), from the cause and from the restore."""

    seen: dict[str, float]
    caused: float
    restored_at: float


async def _run_plan(
    name: str,
    plan: _Plan,
    engine: DrilledEngine,
    hooks: DrillHooks,
    fire_within: float,
    resolve_within: float,
) -> _Run:
    """Cause the failure, wait for the alert to fire, restore, wait for it to resolve; the
    restore runs whatever happens."""
    seen: dict[str, float] = {}
    got = {s: asyncio.Event() for s in (PENDING, FIRING, RESOLVED)}

    def listener(alert: Alert, transition: str) -> None:
        if _matches(alert, plan.rule, plan.labels) and transition in got:
            seen.setdefault(transition, time.monotonic())
            got[transition].set()

    engine.listeners.append(listener)
    engine.drilling.add(plan.rule)
    restored = False
    background: asyncio.Task[None] | None = None
    try:
        await plan.cause()
        caused = time.monotonic()
        if plan.background is not None:
            background = asyncio.create_task(plan.background(), name=f"drill-{name}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(got[FIRING].wait(), fire_within + hooks.tick_s)
        await plan.restore()
        restored, restored_at = True, time.monotonic()
        if FIRING in seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(got[RESOLVED].wait(), resolve_within + hooks.tick_s)
    finally:
        if background is not None:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
        if not restored:
            await plan.restore()
        engine.listeners.remove(listener)
        engine.drilling.discard(plan.rule)
    return _Run(seen, caused, restored_at)


def _steps(
    run: _Run, rule: Rule, plan: _Plan, fire_limit: float, fire_within: float, resolve_within: float
) -> list[dict[str, Any]]:
    """The report's three steps: pending, firing (within `fire_limit`), resolved."""
    seen = run.seen

    def after(state: str, since: float) -> float | None:
        return round(seen[state] - since, 2) if state in seen else None

    return [
        {
            "step": PENDING,
            "ok": PENDING in seen or (rule.for_s <= 0 and FIRING in seen),
            "after_s": after(PENDING, run.caused),
            "expected": "as soon as the failure shows" if rule.for_s > 0 else "skipped (for_s 0)",
        },
        {
            "step": FIRING,
            "ok": FIRING in seen and seen[FIRING] - run.caused <= fire_limit,
            "after_s": after(FIRING, run.caused),
            "expected": f"within {fire_within:g} s (for_s {rule.for_s:g} + {LEAD_TICKS} ticks"
            + (f" + {plan.fire_extra_s:g} s" if plan.fire_extra_s else "")
            + ")",
        },
        {
            "step": RESOLVED,
            "ok": RESOLVED in seen,
            "after_s": after(RESOLVED, run.restored_at),
            "expected": f"within {resolve_within:g} s of the restore",
        },
    ]
