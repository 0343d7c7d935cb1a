"""The health check a trial slot must pass before it is committed.

Checks: the slot's model file matches its checksum; the enabled agents start and stay up
for `health_window_s`; the slot's golden prompts pass on the inference engine; the device's
`health_command` exits 0. A check that cannot run here is skipped and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgetui.config import OtaConfig
from edgetui.file_digest import sha256_file
from edgetui.models.ota_section import HealthCheck
from edgetui.models.slot import SlotContent

UP = ("running", "idle")


@dataclass
class HealthReport:
    """All checks of one health run; `ok` when none failed."""

    checks: list[HealthCheck] = field(default_factory=list)
    # The validation suite's report on the trial slot (the "after"), when it ran.
    validation: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def reason(self) -> str:
        """The failed checks in plain words (empty when ok)."""
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if c.ok is False)


@dataclass
class HealthHooks:
    """What the runtime lends the health check (services never import each other)."""

    agents: Callable[[], list[dict[str, Any]] | None] = lambda: None
    enabled_agents: list[str] = field(default_factory=list)
    inference: Callable[[], Any] = lambda: None
    # The validation suite on a slot directory, phase "before" or "after"; returns its report
    # (`golden`, `golden_ok`, `latency`, `checks`, ...) or None when that part is not running.
    validate: Callable[[Path, str], Awaitable[dict[str, Any] | None]] | None = None


async def check_model(slot: SlotContent) -> HealthCheck:
    """The model file named by slot.json matches its recorded sha256."""
    if slot.model is None:
        return HealthCheck("model", None, "slot has no model file (skipped)")
    if not slot.model_sha256:
        return HealthCheck("model", False, f"{slot.model.name} has no recorded checksum")
    try:
        # A stat, not a read, when the boot already hashed the unchanged file (file_digest).
        digest = await asyncio.to_thread(sha256_file, slot.model)
    except OSError as exc:
        return HealthCheck("model", False, f"{slot.model.name} unreadable: {exc.strerror}")
    want = slot.model_sha256.removeprefix("sha256:")
    if digest != want:
        return HealthCheck("model", False, f"{slot.model.name} does not match its checksum")
    return HealthCheck("model", True, f"{slot.model.name} matches sha256 {want[:12]}")


async def watch_agents(hooks: HealthHooks, window: float) -> HealthCheck:
    """Every enabled agent is up at the end of the window and none restarted during it."""
    if hooks.agents() is None:
        return HealthCheck("agents", None, "no agent supervisor in this runtime (skipped)")
    if not hooks.enabled_agents:
        return HealthCheck("agents", None, "no agents enabled (skipped)")
    loop = asyncio.get_running_loop()
    end = loop.time() + window
    base: dict[str, int] = {}
    while True:
        rows = {r.get("name"): r for r in (hooks.agents() or [])}
        for name in hooks.enabled_agents:
            row = rows.get(name)
            if row is None:
                continue
            restarts = int(row.get("restarts") or 0)
            base.setdefault(name, restarts)
            if row.get("status") == "error" or restarts > base[name]:
                err = row.get("last_error") or row.get("status")
                return HealthCheck("agents", False, f"agent {name} crashed: {err}")
        if loop.time() >= end:
            break
        await asyncio.sleep(min(0.25, max(window / 20, 0.05)))
    missing = [n for n in hooks.enabled_agents if rows.get(n, {}).get("status") not in UP]
    if missing:
        return HealthCheck(
            "agents", False, f"agent(s) not up after {window:g} s: " + ", ".join(missing)
        )
    return HealthCheck(
        "agents", True, f"{len(hooks.enabled_agents)} agent(s) stayed up for {window:g} s"
    )


async def check_golden(slot: SlotContent, hooks: HealthHooks, timeout: float) -> HealthCheck:
    """The slot's golden prompts pass on the inference engine."""
    engine = hooks.inference()
    if slot.golden is None:
        return HealthCheck("golden", None, "slot has no golden prompts (skipped)")
    if engine is None:
        return HealthCheck("golden", None, "inference not running in this runtime (skipped)")
    if not getattr(engine, "available", True):
        why = getattr(engine, "unavailable_reason", None) or "model not loaded"
        return HealthCheck("golden", False, f"inference unavailable: {why}")
    from edgetui.inference import run_golden

    try:
        result = await asyncio.wait_for(run_golden(engine, slot.golden), timeout)
    except TimeoutError:
        return HealthCheck("golden", False, f"golden prompts did not finish in {timeout:g} s")
    except Exception as exc:
        return HealthCheck("golden", False, f"golden prompts failed: {exc}")
    return HealthCheck(
        "golden", bool(result.ok), f"{result.passed}/{result.total}: {result.detail}"
    )


async def validate_golden(
    slot: SlotContent, hooks: HealthHooks, timeout: float
) -> tuple[HealthCheck, dict[str, Any] | None]:
    """The golden check through the validation suite (accuracy against the slot's bar)."""
    assert hooks.validate is not None
    try:
        report = await asyncio.wait_for(hooks.validate(slot.root, "after"), timeout)
    except TimeoutError:
        return HealthCheck("golden", False, f"golden prompts did not finish in {timeout:g} s"), None
    except Exception as exc:
        return HealthCheck("golden", False, f"golden prompts failed: {exc}"), None
    if report is None:  # the validation part is not running: the plain golden check
        return await check_golden(slot, hooks, timeout), None
    check = next((c for c in report.get("checks", []) if c.get("name") == "golden"), None)
    if check is None:
        return HealthCheck("golden", None, "golden prompts did not run (skipped)"), report
    return HealthCheck("golden", check.get("ok"), str(check.get("detail"))), report


async def check_command(command: str, slot_dir: Path, timeout: float) -> HealthCheck:
    """The device's own health command exits 0 (run in the slot directory)."""
    if not command:
        return HealthCheck("command", None, "no health_command configured (skipped)")
    env = {**os.environ, "EDGETUI_SLOT_DIR": str(slot_dir)}
    proc = await asyncio.create_subprocess_shell(
        command,
        cwd=slot_dir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return HealthCheck("command", False, f"health command timed out after {timeout:g} s")
    if proc.returncode != 0:
        lines = (err or b"").decode(errors="replace").strip().splitlines()
        tail = f": {lines[-1][:160]}" if lines else ""
        return HealthCheck("command", False, f"health command exited {proc.returncode}{tail}")
    return HealthCheck("command", True, "health command exited 0")


async def run_health(slot_dir: Path, config: OtaConfig, hooks: HealthHooks) -> HealthReport:
    """Run every check (the agent window runs alongside the others) and report."""
    try:
        slot = SlotContent.load(slot_dir)
    except ValueError as exc:
        return HealthReport([HealthCheck("slot", False, str(exc))])
    agents = asyncio.create_task(watch_agents(hooks, config.health_window_s))
    validation = None
    crashes = _worker_crashes(hooks.inference())
    try:
        model = await check_model(slot)
        if hooks.validate is not None and slot.golden is not None:
            golden, validation = await validate_golden(slot, hooks, config.health_timeout_s)
        else:
            golden = await check_golden(slot, hooks, config.health_timeout_s)
        checks = [
            model,
            golden,
            await check_command(config.health_command, slot.root, config.health_timeout_s),
        ]
        checks.insert(1, await agents)
        crashed = check_worker(hooks.inference(), crashes)
        if crashed is not None:
            checks.append(crashed)
    finally:
        agents.cancel()
    return HealthReport(checks, validation)


def _worker_crashes(engine: Any) -> int:
    worker = getattr(engine, "supervisor", None)
    return int(getattr(worker, "crashes", 0) or 0)


def check_worker(engine: Any, crashes_before: int) -> HealthCheck | None:
    """Fails when the model worker process crashed during the health check: a model that
    crashes once in thirty answers is no healthier than one that crashes at once."""
    worker = getattr(engine, "supervisor", None)
    if worker is None or _worker_crashes(engine) <= crashes_before or worker.last_exit is None:
        return None
    last = worker.last_exit
    return HealthCheck("inference", False, f"model worker crashed ({last.cause}) {last.when}")
