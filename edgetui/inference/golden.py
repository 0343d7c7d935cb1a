"""Golden prompts: the health check's and `edgetui validate`'s proof that the model answers,
and answers right.

`golden.json` is either a list of cases or an object `{"pass_bar": 0.9 | "28/30", "cases":
[...]}`. A case is `{"event": {"type": ..., "data": {...}}, "context": {...}?, "expected":
"NOTIFY" | {"action": ..., "message": ...}?, "allowed": [actions]?}`. A case passes when the
model (not the fallback) decided and its action is the expected one (or, for a case with no
`expected`, one of `allowed`: validity is all that can be asked of random weights). The run
passes when at least the bar's share of cases passed; a plain list must pass every case.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

from edgetui.inference.stats import percentile
from edgetui.models.decision import ACTIONS, Decision
from edgetui.models.event import Event

DEFAULT_CONTEXT = {"time_of_day": "12:00 (midday)", "hour": 12, "expected_visitors": []}
DEFAULT_BAR = Fraction(1)  # a plain list of cases: every case must pass


class _Decider(Protocol):
    available: bool
    unavailable_reason: str | None

    async def decide(self, event: Event, context: dict[str, Any]) -> Decision: ...


@dataclass
class GoldenSuite:
    """The cases of one golden file and its pass bar (a share of the cases)."""

    cases: list[dict[str, Any]]
    bar: Fraction = DEFAULT_BAR

    @property
    def required(self) -> int:
        """Cases that must pass (the bar's share of the total, rounded up)."""
        return math.ceil(self.bar * len(self.cases))


@dataclass
class GoldenResult:
    """Outcome of a golden run; `detail` is one line. `passed`/`total` count accuracy;
    `required` is the bar in cases; latencies and confidences are the model's decisions'."""

    ok: bool
    passed: int
    total: int
    detail: str
    required: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def p95_ms(self) -> float | None:
        value = percentile(self.latencies_ms, 95)
        return None if value is None else round(value, 2)

    @property
    def confidence_mean(self) -> float | None:
        if not self.confidences:
            return None
        return round(sum(self.confidences) / len(self.confidences), 4)

    @property
    def bar(self) -> str:
        return f"{self.required}/{self.total}"


def parse_bar(value: Any, where: str) -> Fraction:
    """A pass bar: a share in (0, 1] (0.9) or "N/M" (28/30); ValueError naming `where`."""
    try:
        if isinstance(value, str) and "/" in value:
            num, den = (int(x) for x in value.split("/", 1))
            bar = Fraction(num, den)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            bar = Fraction(str(value))
        else:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        raise ValueError(f'{where}: pass_bar: expected a share like 0.9 or "28/30"') from None
    if not 0 < bar <= 1:
        raise ValueError(f"{where}: pass_bar: expected a share above 0 and at most 1")
    return bar


def _expected(case: dict[str, Any], where: str) -> str | None:
    exp = case.get("expected")
    if exp is None:
        return None
    action = exp.get("action") if isinstance(exp, dict) else exp
    if action not in ACTIONS:
        raise ValueError(f"{where}: expected: {action!r} is not one of {', '.join(ACTIONS)}")
    return action


def load_golden(golden_path: Path) -> GoldenSuite:
    """Read and check a golden file; raises ValueError with a one-line reason."""
    try:
        doc = json.loads(Path(golden_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{golden_path}: golden file missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{golden_path}: unreadable golden file: {exc}") from None
    bar = DEFAULT_BAR
    cases = doc
    if isinstance(doc, dict):
        cases = doc.get("cases")
        if "pass_bar" in doc:
            bar = parse_bar(doc["pass_bar"], str(golden_path))
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
        _expected(case, f"{golden_path}: case {i}")
    return GoldenSuite(cases, bar)


async def run_suite(engine: _Decider, suite: GoldenSuite) -> GoldenResult:
    """Run every case through `engine.decide` and score it; never raises for a bad case."""
    total = len(suite.cases)
    if not engine.available:
        reason = f"model unavailable: {engine.unavailable_reason}"
        return GoldenResult(False, 0, total, reason, suite.required, failures=[reason])
    result = GoldenResult(False, 0, total, "", suite.required)
    for i, case in enumerate(suite.cases):
        ev = case["event"]
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        event = Event(type=ev["type"], source="edgetui://golden/health", data=data)
        context = DEFAULT_CONTEXT | (case.get("context") or {})
        expected = _expected(case, f"case {i}")
        allowed = [expected] if expected else (case.get("allowed") or list(ACTIONS))
        decision = await engine.decide(event, context)
        if decision.source == "model":
            if decision.latency_ms is not None:
                result.latencies_ms.append(decision.latency_ms)
            if decision.confidence is not None:
                result.confidences.append(decision.confidence)
        if decision.source != "model":
            result.failures.append(f"case {i}: {decision.reason}")
        elif decision.action not in allowed:
            why = f"expected {expected}" if expected else f"not in {allowed}"
            result.failures.append(f"case {i}: {decision.action} {why}")
        else:
            result.passed += 1
    result.ok = result.passed >= result.required
    if not result.ok:
        first = f"; {result.failures[0]}" if result.failures else ""
        result.detail = f"golden {result.passed}/{total} < {result.bar}{first}"
    elif result.failures:
        result.detail = f"golden {result.passed}/{total} >= {result.bar}; {result.failures[0]}"
    else:
        result.detail = f"golden {result.passed}/{total} passed"
    return result


async def run_golden(engine: _Decider, golden_path: Path) -> GoldenResult:
    """Load `golden_path` and run it on `engine`; never raises."""
    try:
        suite = load_golden(golden_path)
    except ValueError as exc:
        return GoldenResult(False, 0, 0, str(exc))
    return await run_suite(engine, suite)
