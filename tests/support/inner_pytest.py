"""Run pytest in a subprocess on a few test files written for the occasion (what the test
suite's own safety nets do is seen from outside: a crash, a guard, a SIGKILLed pytest)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.cli import ROOT, env

OUTCOME = re.compile(r"^\S+::(\w+) (PASSED|FAILED|ERROR)", re.MULTILINE)


def write_suite(where: Path, files: dict[str, str]) -> Path:
    """`files` (name -> source) in a fresh directory `where`; returns it."""
    where.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (where / name).write_text(source)
    return where


def argv(suite: Path, *extra: str) -> list[str]:
    """pytest on `suite` alone: no cache, the `native` marker known, verbose outcomes."""
    return [
        sys.executable, "-m", "pytest", "-v", "-rA", "-p", "no:cacheprovider",
        "-o", "markers=native: runs forked", "--rootdir", str(suite), str(suite), *extra,
    ]  # fmt: skip


def run(
    suite: Path, extra_env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run pytest on `suite` to the end."""
    return subprocess.run(
        argv(suite),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env(), "COLUMNS": "1000", **extra_env},  # whole lines in the short summary
        cwd=suite,
    )


def outcomes(output: str) -> dict[str, str]:
    """test name -> PASSED / FAILED / ERROR, from `-v` output."""
    return {m.group(1): m.group(2) for m in OUTCOME.finditer(output)}


__all__ = ["ROOT", "argv", "outcomes", "run", "write_suite"]
