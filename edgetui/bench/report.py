"""How a benchmark meets the command line: its options (`add_bench`) and its report, one
or several comparisons of `edgetui.bench.harness` with the bench's own figures, as text or
as one JSON document (`report`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from edgetui.bench.harness import Comparison, Load
from edgetui.cli.context import command, print_json

SHOWN_ROUNDS = 12  # per-round ratios printed one by one up to this many rounds


def add_bench(
    sub: argparse._SubParsersAction,
    name: str,
    help: str,
    func: Callable[..., Any],
    options: str = "",
) -> argparse.ArgumentParser:
    """`edgetui bench NAME`, its options given one a line as `--flag DEFAULT help text`
    (the type is the default's: an int, a float, or `off` for a flag), and --json, which
    every bench has."""
    p = command(sub, name, func, help=help)
    for line in options.strip().splitlines():
        flag, default, text = line.split(maxsplit=2)
        if default == "off":
            p.add_argument(flag, action="store_true", help=text)
            continue
        value: int | float = float(default) if "." in default else int(default)
        p.add_argument(flag, type=type(value), default=value, help=text)
    return p


def span(comparisons: Sequence[Comparison]) -> Load | None:
    """The load at the start of the first measured comparison and at the end of the last."""
    measured = [c.load for c in comparisons if c.load.start]
    return Load(measured[0].start, measured[-1].end) if measured else None


def num(value: float | None) -> str:
    """A figure with as many digits as its size deserves."""
    if value is None:
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:.0f}"
    if size >= 1:
        return f"{value:.2f}"
    if size >= 0.01:
        return f"{value:.3f}"
    return f"{value:.3g}"


def comparison_lines(c: Comparison) -> list[str]:
    """A comparison in words: a head, each side's figure, the ratio, its spread, the goal."""
    rounds = len(c.round_ratios)
    head = f"{c.name} ({c.unit + ', ' if c.unit else ''}{c.stat} of {rounds} round(s))"
    out = [head]
    width = max(len(c.candidate), len(c.baseline)) + 2
    for label, value, p95 in (
        (c.candidate, c.candidate_value, c.candidate_p95),
        (c.baseline, c.baseline_value, c.baseline_p95),
    ):
        tail = f"   p95 {num(p95)}" if p95 is not None else ""
        out.append(f"  {label:<{width}}{num(value):>10}{tail}")
    line = f"  ratio {'n/a' if c.ratio is None else f'{c.ratio:.3f}x'}"
    if c.spread is not None and rounds > 1:
        low, high = c.spread
        line += f", rounds {low:.2f} to {high:.2f}"
        if rounds <= SHOWN_ROUNDS:
            line += " (" + ", ".join(f"{r:.2f}" for r in c.round_ratios) + ")"
    if c.goal is not None:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[c.met]
        line += f"; goal {c.goal.text(c.unit)}: {verdict}"
    out.append(line)
    return out


def report(
    comparisons: Sequence[Comparison],
    *,
    as_json: bool,
    title: str = "",
    figures: Mapping[str, Any] | None = None,
    lines: Sequence[str] = (),
) -> None:
    """Print a benchmark's result: as one JSON document (its `figures`, every comparison,
    the load), or as text (the title, the bench's own `lines`, each comparison, the load)."""
    load = span(comparisons)
    if as_json:
        doc = dict(figures or {})
        doc["comparisons"] = [c.to_dict() for c in comparisons]
        doc["load_avg"] = asdict(load) if load else None
        print_json(doc)
        return
    if title:
        print(title)
    for line in lines:
        print(line)
    for c in comparisons:
        for line in comparison_lines(c):
            print(line)
    if load is not None:
        shown = "/".join(f"{x:g}" for x in load.start), "/".join(f"{x:g}" for x in load.end)
        print(f"load average (1/5/15 min): {shown[0]} at the start, {shown[1]} at the end")
