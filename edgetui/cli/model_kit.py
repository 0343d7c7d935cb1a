"""`edgetui model dataset|train|eval|quantize`: the release side's model kit (edgetui.modelkit)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_OK, CommandError


def register(msub: argparse._SubParsersAction) -> None:
    """Add the kit's actions to `edgetui model`."""
    q = command(msub, "dataset", cmd_dataset, help="write train/val/test JSONL and the golden set")
    q.add_argument("--out", required=True, metavar="DIR")
    q.add_argument("--n", type=int, default=20000, metavar="N", help="training cases")
    q.add_argument("--seed", type=int, default=0)

    q = command(msub, "train", cmd_train, help="train the decision model (needs edgetui[train])")
    q.add_argument("--data", required=True, metavar="DIR")
    q.add_argument("--out", required=True, metavar="MODEL.gguf")
    q.add_argument("--steps", type=int, default=3000)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--batch", type=int, default=64)
    q.add_argument("--lr", type=float, default=3e-3)
    q.add_argument("--arch", choices=["full", "small"], default="full")
    q.add_argument("--train-limit", type=int, default=0, metavar="N")
    q.add_argument("--init-from", default=None, metavar="WEIGHTS.npz")
    q.add_argument("--regress", choices=["motion-at-night"], default=None)

    q = command(msub, "eval", cmd_eval, help="score models on cases through the device's path")
    q.add_argument("models", nargs="+", metavar="MODEL")
    q.add_argument("--cases", required=True, metavar="FILE.jsonl")
    q.add_argument("--limit", type=int, default=0, metavar="N")

    q = command(msub, "quantize", cmd_quantize, help="quantize a GGUF with llama.cpp's quantizer")
    q.add_argument("src", metavar="IN")
    q.add_argument("dst", metavar="OUT")
    q.add_argument("--type", required=True, choices=["q8_0", "q4_0"], dest="qtype")


def cmd_dataset(ctx: Context) -> int:
    from edgetui.modelkit import write_dataset

    if ctx.args.n < 20:
        raise CommandError("--n must be at least 20")
    counts = write_dataset(Path(ctx.args.out), ctx.args.n, ctx.args.seed)
    if ctx.args.json:
        print_json(counts)
    else:
        print(f"wrote {', '.join(f'{k} {v}' for k, v in counts.items())} into {ctx.args.out}")
    return EXIT_OK


def cmd_train(ctx: Context) -> int:
    from edgetui.modelkit import train_model

    a = ctx.args
    try:
        stats = train_model(
            Path(a.data), Path(a.out), steps=a.steps, seed=a.seed, batch=a.batch, lr=a.lr,
            arch=a.arch, train_limit=a.train_limit, regress=a.regress,
            init_from=Path(a.init_from) if a.init_from else None,
        )  # fmt: skip
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    stats.pop("history", None)
    if a.json:
        print_json(stats)
    else:
        print(
            f"{a.out}: {stats['n_params']} parameters, {stats['gguf_bytes']} bytes, "
            f"{stats['steps']} steps in {stats['wall_s']} s"
        )
    return EXIT_OK


def cmd_eval(ctx: Context) -> int:
    from edgetui.modelkit import evaluate_model, read_jsonl

    try:
        cases = read_jsonl(Path(ctx.args.cases))
    except (OSError, json.JSONDecodeError) as exc:
        raise CommandError(f"{ctx.args.cases}: {exc}") from None
    if ctx.args.limit:
        cases = cases[: ctx.args.limit]
    if not cases:
        raise CommandError(f"{ctx.args.cases}: no cases")
    bad = [
        i
        for i, c in enumerate(cases)
        if not {"event_type", "data", "context", "expected"} <= set(c)
    ]
    if bad:
        raise CommandError(f"{ctx.args.cases}: line {bad[0] + 1} is not a case")
    reports = []
    for model in ctx.args.models:
        try:
            reports.append(asyncio.run(evaluate_model(Path(model), cases)).to_dict())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if ctx.args.json:
        print_json(reports[0] if len(reports) == 1 else reports)
        return EXIT_OK
    rows = [
        ("model", lambda r: Path(r["model"]).name),
        ("size", lambda r: f"{r['model_bytes'] / 1e6:.2f} MB"),
        ("cases", lambda r: str(r["cases"])),
        ("action accuracy", lambda r: f"{r['action_accuracy']:.2%}"),
        ("location named", lambda r: _pct(r["location_named_rate"])),
        ("valid", lambda r: f"{r['valid_rate']:.2%}"),
        ("p50 / p95 ms", lambda r: f"{r['p50_ms']} / {r['p95_ms']}"),
        ("mean confidence", lambda r: str(r["mean_confidence"])),
    ]
    rules = sorted({k for r in reports for k in r["per_rule"]})
    rows += [(rule, _rule_cell(rule)) for rule in rules]
    width = max(len(name) for name, _ in rows)
    for name, cell in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{cell(r):>22}" for r in reports))
    return EXIT_OK


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _rule_cell(rule: str):
    def cell(r: dict) -> str:
        v = r["per_rule"].get(rule)
        return "-" if v is None else f"{v['accuracy']:.2%} of {v['n']}"

    return cell


def cmd_quantize(ctx: Context) -> int:
    from edgetui.modelkit import quantize_gguf

    try:
        out = quantize_gguf(Path(ctx.args.src), Path(ctx.args.dst), ctx.args.qtype)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    size = out.stat().st_size
    if ctx.args.json:
        print_json({"out": str(out), "type": ctx.args.qtype, "bytes": size})
    else:
        print(f"{out}: {ctx.args.qtype}, {size} bytes")
    return EXIT_OK
