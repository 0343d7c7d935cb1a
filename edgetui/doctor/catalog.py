"""Which runbooks a device has: the shipped ones, then `<state dir>/runbooks/` (which adds or
overrides by rule or check name), checked against the rules the config compiles."""

from __future__ import annotations

import logging
from pathlib import Path

from edgetui.alerts import builtin_rules, compile_rules
from edgetui.config import Config
from edgetui.doctor.runbooks import Runbook, load_runbooks, shipped_dir

log = logging.getLogger(__name__)

# The checks of `edgetui validate` (validation/suite.py); tests/doctor holds them equal.
VALIDATE_CHECKS = ("golden", "latency", "agents", "model")


def runbook_dirs(state_dir: Path) -> list[Path]:
    """Where runbooks are read from, a later one overriding an earlier one."""
    return [shipped_dir(), Path(state_dir) / "runbooks"]


def known_names(config: Config) -> dict[str, set[str]]:
    """The names a runbook may be for: the alert rules (the built-ins, disabled ones too, and
    `[[alerts.rules]]`), and the validate checks."""
    rules = builtin_rules(config.alerts) + compile_rules(config.alerts)
    return {
        "alert": {r.name for r in rules},
        "check": set(VALIDATE_CHECKS),
    }


def load_catalog(
    config: Config, state_dir: Path
) -> tuple[dict[tuple[str, str], Runbook], list[str]]:
    """The device's runbooks by (kind, name), and one error line per file that failed."""
    return load_runbooks(runbook_dirs(state_dir), known_names(config))


def runbook_files(config: Config, state_dir: Path) -> dict[str, str]:
    """rule name -> the file of its runbook: the `runbook` annotation of each alert. A file
    that fails to load is logged in one line; the others still count."""
    books, errors = load_catalog(config, state_dir)
    for line in errors:
        log.error("runbook: %s", line)
    return {name: book.path for (kind, name), book in books.items() if kind == "alert"}
