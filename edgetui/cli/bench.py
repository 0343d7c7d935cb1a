"""`edgetui bench ...`: benchmarks that print figures and ratios against a baseline
measured in the same run. Each benchmark lives in edgetui/bench/<name>.py."""

from __future__ import annotations

import argparse
import importlib

from edgetui.cli.context import command_group

BENCH_MODULES = [
    "edgetui.bench.buffer",
    "edgetui.bench.tui",
    "edgetui.bench.ota",
    "edgetui.bench.bus",
    "edgetui.bench.inference",
    "edgetui.bench.alerts",
    "edgetui.bench.audit",
    "edgetui.bench.security",
    "edgetui.bench.validation",
    "edgetui.bench.fleet",
    "edgetui.bench.model",
]


def register(sub: argparse._SubParsersAction) -> None:
    bsub = command_group(sub, "bench", help="measure against a same-run baseline", metavar="BENCH")
    for name in BENCH_MODULES:
        importlib.import_module(name).register(bsub)
