"""Which GGUF a benchmark runs: the one given with --model, else the tiny generated one; and
the options of a benchmark that runs a model a number of times."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from edgetui.cli.exits import EXIT_USAGE, CommandError


def add_model_options(p: argparse.ArgumentParser, runs: int) -> None:
    """--model PATH and --runs N (default `runs`); `--json` comes with `command(...)`."""
    p.add_argument("--model", metavar="PATH", help="GGUF to use (default: the tiny model)")
    p.add_argument("--runs", type=int, default=runs, metavar="N")


def check_runs(args: argparse.Namespace) -> None:
    """A usage error unless --runs is at least 1."""
    if args.runs < 1:
        raise CommandError("--runs must be at least 1", code=EXIT_USAGE)


async def model_or_tiny(given: str | None, tmp: Path) -> Path:
    """`given` as a path, or the tiny random-weight model written into `tmp` (numpy, gguf)."""
    if given:
        return Path(given)
    from edgetui.inference.tiny_model import make_tiny_model

    return await asyncio.to_thread(make_tiny_model, tmp / "tiny.gguf")
