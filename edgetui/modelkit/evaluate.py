"""`edgetui model eval`: a model scored on labelled cases through exactly the device's path.

Each case goes through `edgetui.inference.InferenceEngine.decide` (the engine's prompt,
llama.cpp, the decision grammar, the parse, the confidence), greedy, on an engine loaded from
the model file. A decision that fell back to the rule policy counts as invalid output (its
action is still scored: it is what the device would have done).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgetui.config import InferenceConfig
from edgetui.inference import InferenceEngine, percentile
from edgetui.modelkit.teacher import rule_of
from edgetui.models.event import Event

REPORT_KEYS = (
    "cases",
    "action_accuracy",
    "per_rule",
    "location_named_rate",
    "valid_rate",
    "p50_ms",
    "p95_ms",
    "mean_confidence",
)


@dataclass
class EvalReport:
    """What `model eval --json` prints for one model (extra fields after the contract's)."""

    cases: int
    action_accuracy: float
    per_rule: dict[str, dict[str, float | int]]
    location_named_rate: float | None
    valid_rate: float
    p50_ms: float | None
    p95_ms: float | None
    mean_confidence: float | None
    model: str = ""
    model_bytes: int = 0
    load_ms: float | None = None
    tokens_per_s: float | None = None
    correct: int = 0
    confidences: list[float] = field(default_factory=list, repr=False)
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (REPORT_KEYS) plus model, model_bytes, load_ms, tokens_per_s."""
        d = asdict(self)
        d.pop("confidences")
        d.pop("rows")
        return d


def location_named(message: str, location: str) -> bool:
    """The message names the location (underscores may be spaces, case does not matter)."""
    norm = message.lower().replace("_", " ")
    return location.lower().replace("_", " ") in norm


def _case_event(case: dict[str, Any]) -> tuple[Event, dict[str, Any]]:
    return Event(type=case["event_type"], source="eval", data=case["data"]), case["context"]


async def evaluate_model(
    model: Path, cases: list[dict[str, Any]], *, threads: int = 2
) -> EvalReport:
    """Run every case through a greedy engine on `model`; ValueError when it cannot load."""
    model = Path(model)
    if not model.is_file():
        raise ValueError(f"{model}: no such model file")
    with tempfile.TemporaryDirectory(prefix="edgetui-eval-") as state:
        cfg = InferenceConfig(
            model_path=str(model), temperature=0.0, n_threads=threads, timeout_s=120.0
        )
        engine = InferenceEngine(cfg, Path(state))
        await engine.start()
        try:
            if not engine.available:
                raise ValueError(f"{model}: cannot load ({engine.unavailable_reason})")
            report = await _score(engine, model, cases)
            worker = engine.supervisor
            if worker is not None and worker.last_exit is not None:
                # The rules answered for the crashed requests: the figures would be theirs.
                raise ValueError(
                    f"{model}: the model worker crashed during the evaluation "
                    f"({worker.last_exit.cause} {worker.last_exit.when})"
                )
            return report
        finally:
            await engine.stop()


async def _score(engine: InferenceEngine, model: Path, cases: list[dict[str, Any]]) -> EvalReport:
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    correct = valid = named = with_location = 0
    latencies: list[float] = []
    rates: list[float] = []
    confidences: list[float] = []
    rows: list[dict[str, Any]] = []
    for case in cases:
        event, context = _case_event(case)
        expected = case["expected"]["action"]
        rule = case.get("rule") or rule_of(case["event_type"], case["data"], context)[1]
        started = time.perf_counter()
        d = await engine.decide(event, context)
        latencies.append((time.perf_counter() - started) * 1000.0)
        ok = d.action == expected
        correct += ok
        per_rule[rule]["n"] += 1
        per_rule[rule]["correct"] += ok
        if d.source == "model":
            valid += 1
            last = engine.stats.last
            if last is not None and last.tokens_per_s:
                rates.append(last.tokens_per_s)
        if d.confidence is not None:
            confidences.append(d.confidence)
        where = case["data"].get("location")
        if isinstance(where, str) and where:
            with_location += 1
            named += location_named(d.message, where)
        rows.append(
            {"expected": expected, "action": d.action, "message": d.message,
             "source": d.source, "confidence": d.confidence, "rule": rule,
             "ms": latencies[-1]}
        )  # fmt: skip
    n = len(cases)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return EvalReport(
        cases=n,
        action_accuracy=round(correct / n, 4) if n else 0.0,
        per_rule={
            r: {"n": c["n"], "accuracy": round(c["correct"] / c["n"], 4)}
            for r, c in sorted(per_rule.items())
        },
        location_named_rate=round(named / with_location, 4) if with_location else None,
        valid_rate=round(valid / n, 4) if n else 0.0,
        p50_ms=None if p50 is None else round(p50, 2),
        p95_ms=None if p95 is None else round(p95, 2),
        mean_confidence=round(sum(confidences) / len(confidences), 4) if confidences else None,
        model=str(model),
        model_bytes=await asyncio.to_thread(os.path.getsize, model),
        load_ms=engine.load_ms,
        tokens_per_s=None if not rates else round(percentile(rates, 50) or 0.0, 1),
        correct=correct,
        confidences=confidences,
        rows=rows,
    )


def majority_baseline(cases: list[dict[str, Any]]) -> tuple[str, float]:
    """(the most common expected action, the accuracy of always answering it)."""
    counts = Counter(c["expected"]["action"] for c in cases)
    action, hits = counts.most_common(1)[0]
    return action, round(hits / len(cases), 4)
