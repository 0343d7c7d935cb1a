"""`edgetui bench model`: the shipped decision model at f16, q8_0 and q4_0 against the rule
policy, in the same run, on the test split (generated with seed 0, or `--cases FILE`).

Per variant: action accuracy, p50/p95 per decision (through InferenceEngine.decide, greedy),
generation tokens/s, file size, load time and the process RSS it added. The rule policy is
the baseline: the same cases through `fallback_decision` (its accuracy is 100% by definition;
its latency is what a decision costs without a model). Variants run one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from edgetui.bench.harness import compare
from edgetui.bench.report import report as show
from edgetui.cli.context import Context, command
from edgetui.cli.exits import EXIT_OK, CommandError
from edgetui.inference import SHIPPED_MODEL, percentile


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub, "model", cmd_bench_model, help="shipped model f16/q8_0/q4_0 against the rule policy"
    )
    p.add_argument("--cases", metavar="FILE.jsonl", help="default: the seed-0 test split")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="first N cases only")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


async def cmd_bench_model(ctx: Context) -> int:
    from edgetui.modelkit import evaluate_model, quantize_gguf, read_jsonl, write_dataset

    args = ctx.args
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-model-") as tmp:
        if args.cases:
            try:
                cases = await asyncio.to_thread(read_jsonl, Path(args.cases))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{args.cases}: {exc}") from None
        else:
            await asyncio.to_thread(write_dataset, Path(tmp) / "data", 20000, 0)
            cases = await asyncio.to_thread(read_jsonl, Path(tmp) / "data" / "test.jsonl")
        if args.limit:
            cases = cases[: args.limit]
        if not cases:
            raise CommandError("no cases")
        variants = {"f16": SHIPPED_MODEL}
        for kind in ("q8_0", "q4_0"):
            out = Path(tmp) / f"decision.{kind}.gguf"
            variants[kind] = await asyncio.to_thread(quantize_gguf, SHIPPED_MODEL, out, kind)
        rules, rule_ms = _rules(cases)
        rows: dict[str, dict[str, Any]] = {"rule policy": rules}
        comparisons = []
        for name, path in variants.items():
            before = _rss_mb()
            report = await evaluate_model(path, cases)
            # Case by case against the rule policy on the same case.
            comparisons.append(
                compare([r["ms"] for r in report.rows], rule_ms, name=f"{name} / rule policy",
                        labels=(name, "rule policy"), unit="ms per decision", stat="p50")
            )  # fmt: skip
            rows[name] = {
                "accuracy": report.action_accuracy,
                "location_named_rate": report.location_named_rate,
                "valid_rate": report.valid_rate,
                "p50_ms": report.p50_ms,
                "p95_ms": report.p95_ms,
                "tokens_per_s": report.tokens_per_s,
                "file_bytes": report.model_bytes,
                "load_ms": None if report.load_ms is None else round(report.load_ms, 1),
                "rss_added_mb": round(_rss_mb() - before, 1),
                "mean_confidence": report.mean_confidence,
            }
    base = rows["rule policy"]["p50_ms"] or 0.0
    for row in rows.values():
        row["p50_vs_rules"] = round(row["p50_ms"] / base, 1) if base and row["p50_ms"] else None
    result = {"cases": len(cases), "variants": rows}
    title = f"decision model on {result['cases']} test cases (greedy, through InferenceEngine)"
    show(comparisons, as_json=args.json, title=title, figures=result, lines=_table(result))
    return EXIT_OK


def _rules(cases: list[dict[str, Any]]) -> tuple[dict[str, Any], list[float]]:
    from edgetui.models.decision import fallback_decision

    times, correct = [], 0
    for c in cases:
        t0 = time.perf_counter()
        d = fallback_decision(c["event_type"], c["data"], c["context"], "bench")
        times.append((time.perf_counter() - t0) * 1000.0)
        correct += d.action == c["expected"]["action"]
    return {
        "accuracy": round(correct / len(cases), 4),
        "p50_ms": round(percentile(times, 50) or 0.0, 4),
        "p95_ms": round(percentile(times, 95) or 0.0, 4),
    }, times


def _table(result: dict[str, Any]) -> list[str]:
    keys = [
        "accuracy", "p50_ms", "p95_ms", "p50_vs_rules", "tokens_per_s", "file_bytes",
        "load_ms", "rss_added_mb", "valid_rate", "location_named_rate", "mean_confidence",
    ]  # fmt: skip
    names = list(result["variants"])
    lines = [f"{'':<20}" + "".join(f"{n:>14}" for n in names)]
    for k in keys:
        cells = [result["variants"][n].get(k) for n in names]
        lines.append(f"{k:<20}" + "".join(f"{'-' if v is None else v!s:>14}" for v in cells))
    return lines
