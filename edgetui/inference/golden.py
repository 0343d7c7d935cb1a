"""Golden prompts: the health check's proof that the slot's model really answers.

`golden.json` is a list of `{"event": {"type": ..., "data": {...}}, "allowed": [actions],
"context": {...}?}`. A case passes when the model (not the fallback) produced a decision
that parsed and whose action is in `allowed` — with random weights, validity is all that
can be asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edgetui.models.decision import ACTIONS, Decision
from edgetui.models.event import Event

DEFAULT_CONTEXT = {"time_of_day": "12:00 (midday)", "hour": 12, "expected_visitors": []}


class _Decider(Protocol):
    available: bool
    unavailable_reason: str | None

    async def decide(self, event: Event, context: dict[str, Any]) -> Decision: ...


@dataclass
class GoldenResult:
    """Outcome of a golden run; `detail` is one line."""

    ok: bool
    passed: int
    total: int
    detail: str


def _load(golden_path: Path) -> list[dict[str, Any]]:
    try:
        cases = json.loads(Path(golden_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{golden_path}: golden file missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{golden_path}: unreadable golden file: {exc}") from None
    if not isinstance(cases, list) or not cases:
        raise ValueError(f"{golden_path}: expected a non-empty list of cases")
    for i, case in enumerate(cases):
        ok = (
            isinstance(case, dict)
            and isinstance(case.get("event"), dict)
            and isinstance(case["event"].get("type"), str)
        )
        if not ok:
            raise ValueError(f"{golden_path}: case {i} lacks event.type")
    return cases


async def run_golden(engine: _Decider, golden_path: Path) -> GoldenResult:
    """Run every golden case through `engine.decide`; never raises."""
    try:
        cases = _load(golden_path)
    except ValueError as exc:
        return GoldenResult(False, 0, 0, str(exc))
    if not engine.available:
        reason = f"model unavailable: {engine.unavailable_reason}"
        return GoldenResult(False, 0, len(cases), reason)
    passed = 0
    failures: list[str] = []
    for i, case in enumerate(cases):
        ev = case["event"]
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        event = Event(type=ev["type"], source="edgetui://golden/health", data=data)
        context = DEFAULT_CONTEXT | (case.get("context") or {})
        allowed = case.get("allowed") or list(ACTIONS)
        decision = await engine.decide(event, context)
        if decision.source != "model":
            failures.append(f"case {i}: {decision.reason}")
        elif decision.action not in allowed:
            failures.append(f"case {i}: {decision.action} not in {allowed}")
        else:
            passed += 1
    total = len(cases)
    if failures:
        return GoldenResult(False, passed, total, f"{passed}/{total} passed; {failures[0]}")
    return GoldenResult(True, passed, total, f"{passed}/{total} golden cases passed")
