"""The on-device regression suite: golden accuracy, latency against the baseline, agents up,
model checksum. Each check says in one line what it found; a check that cannot run here is
skipped (ok None) and says why. The run passes when no check failed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.file_digest import sha256_file
from edgetui.inference import GoldenResult, load_golden, run_suite
from edgetui.models.agents import AgentRow, AgentStatus
from edgetui.models.clock import rfc3339
from edgetui.models.validation import (
    Baseline,
    GoldenScore,
    LatencyScore,
    ValidationCheck,
    ValidationPhase,
    ValidationReport,
)

UP = (AgentStatus.RUNNING, AgentStatus.IDLE)


async def check_golden(engine: Any, golden: Path | None) -> tuple[ValidationCheck, GoldenResult]:
    """Golden accuracy against the file's pass bar."""
    if golden is None:
        empty = GoldenResult(False, 0, 0, "no golden prompts")
        return ValidationCheck("golden", None, "no golden prompts here (skipped)"), empty
    if engine is None:
        empty = GoldenResult(False, 0, 0, "inference not running")
        return ValidationCheck("golden", None, "inference not running (skipped)"), empty
    try:
        suite = await asyncio.to_thread(load_golden, golden)
    except ValueError as exc:
        bad = GoldenResult(False, 0, 0, str(exc))
        return ValidationCheck("golden", False, str(exc)), bad
    result = await run_suite(engine, suite)
    return ValidationCheck("golden", result.ok, result.detail), result


def check_latency(
    p95_ms: float | None, baseline: Baseline | None, ratio_max: float
) -> tuple[ValidationCheck, LatencyScore]:
    """The run's p95 within `ratio_max` times the version's baseline p95."""
    base = baseline.p95_ms if baseline else None
    ratio = round(p95_ms / base, 3) if p95_ms is not None and base else None
    score = LatencyScore(p95_ms, base, ratio)
    if p95_ms is None:
        return ValidationCheck("latency", None, "no model decision was timed (skipped)"), score
    if baseline is None or ratio is None:
        return ValidationCheck(
            "latency", None, f"p95 {p95_ms:.1f} ms; no baseline for this version yet (skipped)"
        ), score
    detail = f"p95 {p95_ms:.1f} ms vs baseline {base:.1f} ms ({ratio:.2f}x, limit {ratio_max:g}x)"
    return ValidationCheck("latency", ratio <= ratio_max, detail), score


async def check_agents(
    agents: Callable[[], list[AgentRow] | None], enabled: list[str], wait_s: float
) -> ValidationCheck:
    """Every enabled agent is up (waiting up to `wait_s` for ones still starting)."""
    if agents() is None:
        return ValidationCheck("agents", None, "no agent supervisor in this runtime (skipped)")
    if not enabled:
        return ValidationCheck("agents", None, "no agents enabled (skipped)")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        rows = {r.name: r for r in (agents() or [])}
        down = [n for n in enabled if n not in rows or rows[n].status not in UP]
        if not down or loop.time() >= deadline:
            break
        await asyncio.sleep(0.1)
    if down:
        why = ", ".join(f"{n} ({rows[n].status if n in rows else 'absent'})" for n in down)
        return ValidationCheck("agents", False, f"agent(s) not up: {why}")
    return ValidationCheck("agents", True, f"{len(enabled)} agent(s) up")


async def check_model(engine: Any) -> ValidationCheck:
    """The loaded model file still matches the checksum it was accepted with."""
    if engine is None:
        return ValidationCheck("model", None, "inference not running (skipped)")
    path = getattr(engine, "model_path", None)
    want = getattr(engine, "sha256", None)
    if not engine.available:  # the rule policy decides instead: that is a failed device
        return ValidationCheck("model", False, f"model unavailable: {engine.unavailable_reason}")
    if path is None or not want:
        return ValidationCheck("model", None, "no model file to check (skipped)")
    try:
        digest = await asyncio.to_thread(sha256_file, Path(path))
    except OSError as exc:
        return ValidationCheck("model", False, f"{Path(path).name} unreadable: {exc.strerror}")
    if digest != want:
        return ValidationCheck("model", False, f"{Path(path).name} does not match its checksum")
    return ValidationCheck("model", True, f"{Path(path).name} matches sha256 {want[:12]}")


def make_report(
    phase: str,
    version: str | None,
    checks: list[ValidationCheck],
    golden: GoldenResult,
    latency: LatencyScore,
    started: float,
) -> ValidationReport:
    """Assemble a report; ok when no check failed. golden_ok is the golden check's verdict
    (None when it was skipped)."""
    golden_ok = next((c.ok for c in checks if c.name == "golden"), None)
    return ValidationReport(
        ok=all(c.ok is not False for c in checks),
        at=rfc3339(),
        phase=ValidationPhase(phase),
        version=version,
        golden=GoldenScore(golden.passed, golden.total, golden.bar if golden.total else None),
        golden_ok=golden_ok,
        latency=latency,
        checks=checks,
        confidence_mean=golden.confidence_mean,
        duration_ms=round((time.perf_counter() - started) * 1000.0, 1),
    )
