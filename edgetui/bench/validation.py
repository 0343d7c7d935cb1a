"""`edgetui bench validation`: what judging the model costs.

- Confidence: the same prompt through the engine with the logits processor that reads the
  actions' probabilities and without it, interleaved in one run (greedy: the same tokens).
- Drift: the tracker's cost per DECISION taken in, against a bare Counter update of the same
  bins (in turns, a tenth of the decisions at a time), and of computing the `drift` section
  over a full window.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from edgetui.bench.harness import Comparison, run_rounds_async, stat_of
from edgetui.bench.model_choice import add_model_options, check_runs, model_or_tiny
from edgetui.bench.report import report
from edgetui.cli.context import Context, command
from edgetui.cli.exits import EXIT_OK, CommandError

WARMUP = 3
CHUNKS = 10  # the drift's decisions are taken in, in turns with the bare Counter, in chunks


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "validation", cmd_bench_validation,
                help="cost of confidence scoring and drift tracking")  # fmt: skip
    add_model_options(p, runs=40)


async def cmd_bench_validation(ctx: Context) -> int:
    args = ctx.args
    check_runs(args)
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-") as tmp:
        model = await model_or_tiny(args.model, Path(tmp))
        confidence, figures = await _confidence(ctx, model, Path(tmp), args.runs)
        drift, drift_figures = await _drift(Path(tmp))
    figures.update(drift_figures)
    title = f"bench validation: {args.runs} runs each, interleaved, greedy ({model.name})"
    lines = [f"drift: section over a full window {figures['drift_section_us']:.0f} us"]
    report([*confidence, drift], as_json=args.json, title=title, figures=figures, lines=lines)
    return EXIT_OK


async def _confidence(
    ctx: Context, model: Path, tmp: Path, runs: int
) -> tuple[list[Comparison], dict[str, Any]]:
    from edgetui.config import InferenceConfig
    from edgetui.inference import (
        DECISION_GRAMMAR,
        DECISION_TOKEN_BUDGET,
        InferenceEngine,
        build_prompt,
    )

    base = ctx.config.inference
    cfg = InferenceConfig(
        model_path=str(model), n_threads=base.n_threads, n_ctx=base.n_ctx,
        timeout_s=max(base.timeout_s, 120.0), temperature=0.0,
    )  # fmt: skip
    engine = InferenceEngine(cfg, tmp)
    await engine.start()
    if not engine.available:
        raise CommandError(f"model unavailable: {engine.unavailable_reason}")
    prompt = build_prompt("MOTION_DETECTED", {"location": "front_door"}, {"hour": 23})

    async def decide(scored: bool) -> tuple[float, float]:
        """(wall ms the engine measured, CPU ms of this process): on a shared machine wall
        time swings with other people's load, CPU time much less (nothing else runs here)."""
        cpu_start = time.process_time()
        done = await engine.complete(
            prompt,
            grammar=DECISION_GRAMMAR,
            max_tokens=DECISION_TOKEN_BUDGET,
            score_actions=scored,
        )
        return done.total_ms, (time.process_time() - cpu_start) * 1000.0

    try:
        rounds = await run_rounds_async(
            {"scored": lambda: decide(True), "plain": lambda: decide(False)},
            rounds=runs,
            warmup=WARMUP,
            measure="result",
        )
    finally:
        await engine.stop()
    labels = ("with confidence (logits)", "without confidence")
    wall, cpu = (
        rounds.compare("scored", "plain", name=f"decision, {what}", labels=labels,
                       key=lambda r, k=k: r[k], unit="ms", stat="p50")
        for k, what in ((0, "wall time"), (1, "CPU time"))
    )  # fmt: skip
    figures = {
        "runs": runs,
        "plain_p50_ms": wall.baseline_value,
        "plain_p95_ms": stat_of(wall.baseline_samples, "p95"),
        "scored_p50_ms": wall.candidate_value,
        "scored_p95_ms": stat_of(wall.candidate_samples, "p95"),
        "confidence_ratio_p50": wall.ratio,
        "plain_cpu_p50_ms": cpu.baseline_value,
        "scored_cpu_p50_ms": cpu.candidate_value,
        "confidence_cpu_ratio_p50": cpu.ratio,
    }
    return [wall, cpu], figures


async def _drift(tmp: Path) -> tuple[Comparison, dict[str, Any]]:
    from edgetui.config import ValidationConfig
    from edgetui.validation import DriftHooks, DriftService
    from edgetui.validation.psi import bins

    n = 2000
    cfg = ValidationConfig(drift_reference_size=200, drift_window=200, drift_min_samples=50)
    drift = DriftService(
        cfg, tmp, db=lambda: None, hooks=DriftHooks(subscribe=lambda _: None,
                                                   model_version=lambda: "bench"),
    )  # fmt: skip
    decisions = [
        {
            "action": ("NOTIFY", "IGNORE", "SPEAK_WARNING")[i % 3],
            "event_type": "SOUND_LEVEL",
            "event_id": f"e{i}",
            "location": ("garage", "front_door")[i % 2],
            "confidence": 0.5 + (i % 5) / 10,
            "at": "2026-05-06T14:30:00.000Z",
        }
        for i in range(n)
    ]
    size = n // CHUNKS
    chunk: list[dict[str, Any]] = []
    counters: dict[str, Counter[str]] = {}

    async def tracked() -> None:
        for d in chunk:
            await drift.observe_event(
                "SOUND_LEVEL", d["event_id"], {"db": 70 + d["confidence"] * 20}
            )
            await drift.observe_event("DECISION", "x", d)

    def bare() -> None:
        for d in chunk:
            for k, v in bins(d["event_type"], {"db": 80.0}, 14, d["action"]).items():
                counters.setdefault(k, Counter())[v] += 1

    rounds = await run_rounds_async(
        {"drift": tracked, "bare": bare},
        rounds=CHUNKS,
        before_round=lambda i: chunk.__setitem__(slice(None), decisions[i * size : (i + 1) * size]),
    )
    per_decision = rounds.compare(
        "drift", "bare", name="drift, per decision (trigger + DECISION)", unit="us",
        stat="mean", key=lambda t: t / size * 1e6,
        labels=("drift tracker", "bare Counter update of the same bins"),
    )  # fmt: skip
    started = time.perf_counter()
    for _ in range(100):
        drift.forget_section()
        drift.section()
    section_us = (time.perf_counter() - started) / 100 * 1e6
    return per_decision, {
        "drift_per_decision_us": per_decision.candidate_value,
        "drift_bare_counter_us": per_decision.baseline_value,
        "drift_section_us": section_us,
        "drift_psi_max": drift.section().psi_max,
    }
