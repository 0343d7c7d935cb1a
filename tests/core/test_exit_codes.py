"""The exit-code rules: one place (`cli/exits.py`) turns what a command raised into its
exit status and one line on stderr; `edgetui --help` lists them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edgetui.api import APIError, Disconnected
from edgetui.cli import main
from edgetui.cli.exits import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    exit_code,
)
from edgetui.config import ConfigError


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (CommandError("no audit trail at x"), EXIT_ERROR, "no audit trail at x"),
        (CommandError("bad --since", EXIT_USAGE), EXIT_USAGE, "bad --since"),
        (ConfigError("[alerts] rule x: no metric y"), EXIT_USAGE, "config error: [alerts] rule x"),
        (APIError("ota.apply: no update offered", -32000), EXIT_ERROR, "ota.apply: no update"),
        (Disconnected(), EXIT_ERROR, "the daemon went away"),
        (KeyboardInterrupt(), EXIT_INTERRUPTED, None),
        (BrokenPipeError(), EXIT_ERROR, None),
    ],
)
def test_each_error_has_its_code_and_one_line(exc: BaseException, code: int, line: str | None):
    got_code, got_line = exit_code(exc)
    assert got_code == code
    if line is None:
        assert got_line is None
    else:
        assert got_line is not None and got_line.startswith(line) and "\n" not in got_line


def test_a_bug_is_not_turned_into_an_exit_code() -> None:
    with pytest.raises(ZeroDivisionError):
        exit_code(ZeroDivisionError("a bug shows its traceback"))


def test_a_usage_error_of_a_real_command_exits_2_with_one_line(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--state-dir", str(tmp_path), "audit", "--since", "yesterday-ish"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.startswith("edgetui: ") and err.count("\n") == 1


def test_help_lists_the_exit_codes() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edgetui", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "exit codes: 0 done; 1 failed" in " ".join(out.split())
