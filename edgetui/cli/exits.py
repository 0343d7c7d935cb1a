"""The exit-code rules every command keeps, and the one place an error becomes a code.

A command returns `EXIT_OK` or raises; `exit_code` turns what it raised into the code and
the one line on stderr that says why. `edgetui check` alone speaks the Nagios codes.
"""

from __future__ import annotations

from edgetui.api import APIError, Disconnected
from edgetui.config import ConfigError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C

EXIT_CODES_HELP = (
    "exit codes: 0 done; 1 failed (one line on stderr says why); 2 bad usage or config; "
    "130 interrupted. `edgetui check` uses the Nagios codes: 0 OK, 1 WARNING, 2 CRITICAL, "
    "3 UNKNOWN."
)


class CommandError(Exception):
    """A command failed in a way the user should read; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def exit_code(exc: BaseException) -> tuple[int, str | None]:
    """The exit status for an exception a command raised, and the line to print (None:
    print nothing). Anything not listed here is a bug and is re-raised by the caller."""
    if isinstance(exc, CommandError):
        return exc.code, str(exc)
    if isinstance(exc, ConfigError):  # found once the runtime starts (a rule's metric path)
        return EXIT_USAGE, f"config error: {exc}"
    if isinstance(exc, Disconnected):
        return EXIT_ERROR, f"the daemon went away: {exc}" if str(exc) else "the daemon went away"
    if isinstance(exc, APIError):
        return EXIT_ERROR, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, None
    if isinstance(exc, BrokenPipeError):  # `edgetui ... | head`: the reader left
        return EXIT_ERROR, None
    raise exc
