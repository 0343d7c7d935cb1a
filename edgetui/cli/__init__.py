"""`edgetui` entry point: global options, then a command; no command opens the dashboard.

Textual is imported only when the dashboard runs, so headless commands stay light.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import logging
import sys
from collections.abc import Sequence

from edgetui import __version__
from edgetui.cli.context import Context, command
from edgetui.cli.exits import EXIT_CODES_HELP, EXIT_USAGE, exit_code
from edgetui.config import ConfigError, load_config, resolve_state_dir

# Each module has register(subparsers); add a part's commands by adding its module here.
COMMAND_MODULES = [
    "edgetui.cli.core",
    "edgetui.cli.bench",
    "edgetui.cli.demo",
    "edgetui.cli.buffer",
    "edgetui.cli.ota",
    "edgetui.cli.release",
    "edgetui.cli.bus",
    "edgetui.cli.model",
    "edgetui.cli.agents",
    "edgetui.cli.alerts",
    "edgetui.cli.check",
    "edgetui.cli.doctor",
    "edgetui.cli.kiosk",
    "edgetui.cli.audit",
    "edgetui.cli.command",
    "edgetui.cli.validate",
    "edgetui.cli.fleet",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like config errors
        self.exit(EXIT_USAGE, f"edgetui: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgetui",
        description="On-device operations console for an edge AI agent. "
        "With no command, opens the dashboard.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--config", metavar="FILE", help="config file (TOML)")
    parser.add_argument("--state-dir", metavar="DIR", help="state directory")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument(
        "--kiosk",
        action="store_true",
        help="dashboard fullscreen, no quit key, actions behind the PIN",
    )
    parser.add_argument("--readonly", action="store_true", help="dashboard without actions")
    parser.add_argument("--low-bandwidth", action=argparse.BooleanOptionalAction, default=None,
                        help="dashboard for a slow line: redraw every [tui] "
                        "low_bandwidth_refresh_s, no animation (default: on by itself on a "
                        "serial console at 115200 baud or less)")  # fmt: skip
    parser.add_argument("--standalone", action="store_true",
                        help="run the runtime in-process even when a daemon answers")  # fmt: skip
    parser.add_argument("--version", action="version", version=f"edgetui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    command(sub, "dashboard", None, help="open the dashboard (the default)", json=False)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run_dashboard(ctx: Context) -> int:
    from edgetui.tui.launch import run_app  # Textual is loaded here only

    return run_app(ctx)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        config = load_config(args.config)
        state_dir = resolve_state_dir(args.state_dir)
    except ConfigError as exc:
        print(f"edgetui: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ctx = Context(args=args, config=config, state_dir=state_dir)
    func = getattr(args, "func", None)
    try:
        if func is None:
            return run_dashboard(ctx)
        result = func(ctx)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (Exception, KeyboardInterrupt) as exc:
        code, line = exit_code(exc)
        if line is not None:
            print(f"edgetui: {line}", file=sys.stderr)
        return code
