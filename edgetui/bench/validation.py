"""`edgetui bench validation`: what judging the model costs.

- Confidence: the same prompt through the engine with the logits processor that reads the
  actions' probabilities and without it, interleaved in one run (greedy: the same tokens).
- Drift: the tracker's cost per DECISION taken in, and of computing the `drift` section over
  a full window, against a bare Counter update of the same bins in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from edgetui.bench.model_choice import model_or_tiny
from edgetui.cli.context import EXIT_OK, CommandError, Context, print_json
from edgetui.inference import percentile

WARMUP = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validation", help="cost of confidence scoring and drift tracking")
    p.add_argument("--model", metavar="PATH", help="GGUF to use (default: the tiny model)")
    p.add_argument("--runs", type=int, default=40, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_validation)


async def cmd_bench_validation(ctx: Context) -> int:
    args = ctx.args
    if args.runs < 1:
        raise CommandError("--runs must be at least 1", code=2)
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-") as tmp:
        model = await model_or_tiny(args.model, Path(tmp))
        result = await _confidence(ctx, model, Path(tmp), args.runs)
        result.update(await _drift(Path(tmp)))
    if args.json:
        print_json(result)
    else:
        _print(result)
    return EXIT_OK


async def _confidence(ctx: Context, model: Path, tmp: Path, runs: int) -> dict[str, Any]:
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
    times: dict[bool, list[float]] = {False: [], True: []}
    # CPU time of this process per decision: on a shared machine wall time swings with
    # other people's load, CPU time much less (nothing else runs in this process).
    cpu: dict[bool, list[float]] = {False: [], True: []}
    try:
        for i in range(WARMUP + runs):
            # Alternate which goes first, so drift in machine load hits both alike.
            for scored in (i % 2 == 0, i % 2 == 1):
                cpu_start = time.process_time()
                done = await engine.complete(
                    prompt,
                    grammar=DECISION_GRAMMAR,
                    max_tokens=DECISION_TOKEN_BUDGET,
                    score_actions=scored,
                )
                cpu_ms = (time.process_time() - cpu_start) * 1000.0
                if i >= WARMUP:
                    times[scored].append(done.total_ms)
                    cpu[scored].append(cpu_ms)
    finally:
        await engine.stop()
    plain, scored = times[False], times[True]
    return {
        "runs": runs,
        "plain_p50_ms": percentile(plain, 50),
        "plain_p95_ms": percentile(plain, 95),
        "scored_p50_ms": percentile(scored, 50),
        "scored_p95_ms": percentile(scored, 95),
        "confidence_ratio_p50": (percentile(scored, 50) or 0) / (percentile(plain, 50) or 1),
        "plain_cpu_p50_ms": percentile(cpu[False], 50),
        "scored_cpu_p50_ms": percentile(cpu[True], 50),
        "confidence_cpu_ratio_p50": (percentile(cpu[True], 50) or 0)
        / (percentile(cpu[False], 50) or 1),
    }


async def _drift(tmp: Path) -> dict[str, Any]:
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
    started = time.perf_counter()
    for d in decisions:
        await drift.observe_event("SOUND_LEVEL", d["event_id"], {"db": 70 + d["confidence"] * 20})
        await drift.observe_event("DECISION", "x", d)
    per_event_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(100):
        drift._cache = None
        drift.section()
    section_us = (time.perf_counter() - started) / 100 * 1e6
    counters: dict[str, Counter[str]] = {}
    started = time.perf_counter()
    for d in decisions:
        for k, v in bins(d["event_type"], {"db": 80.0}, 14, d["action"]).items():
            counters.setdefault(k, Counter())[v] += 1
    bare_us = (time.perf_counter() - started) / n * 1e6
    return {
        "drift_per_decision_us": per_event_us,
        "drift_bare_counter_us": bare_us,
        "drift_section_us": section_us,
        "drift_psi_max": drift.section()["psi_max"],
    }


def _print(r: dict[str, Any]) -> None:
    print(f"bench validation: tiny model, {r['runs']} runs each, interleaved, greedy")
    print(f"{'':36}{'p50 ms':>9}{'p95 ms':>9}{'CPU p50 ms':>12}")
    for key, name in (("plain", "decision without confidence"),
                      ("scored", "decision with confidence (logits)")):  # fmt: skip
        print(
            f"{name:36}{r[key + '_p50_ms']:>9.2f}{r[key + '_p95_ms']:>9.2f}"
            f"{r[key + '_cpu_p50_ms']:>12.2f}"
        )
    print(
        f"with / without confidence: wall p50 {r['confidence_ratio_p50']:.3f}x, "
        f"CPU p50 {r['confidence_cpu_ratio_p50']:.3f}x"
    )
    print(
        f"drift: {r['drift_per_decision_us']:.1f} us per decision (trigger + DECISION) vs "
        f"{r['drift_bare_counter_us']:.1f} us for a bare Counter update of the same bins; "
        f"section over a full window {r['drift_section_us']:.0f} us"
    )
