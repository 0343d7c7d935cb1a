"""Run the dashboard from the CLI context: choose attach or standalone, route logs to a file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Protocol

from edgetui.api import RuntimeAPI
from edgetui.config import Config
from edgetui.session import attach, open_api
from edgetui.tui.app import EdgeApp
from edgetui.tui.line_speed import decide, serial_baud

log = logging.getLogger(__name__)


class Context(Protocol):
    """What the dashboard needs of the CLI's context (the CLI's `Context` has it; the face
    below the CLI does not import the CLI)."""

    config: Config
    state_dir: Path
    args: argparse.Namespace


def _log_to_file(state_dir: Path) -> Path:
    # The terminal belongs to the dashboard; log lines would tear it.
    path = state_dir / "edgetui.log"
    state_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    return path


def build_app(ctx: Context) -> EdgeApp:
    """The dashboard wired to this device: attach to the daemon, else run standalone."""
    state_dir = ctx.state_dir
    via = "kiosk" if ctx.args.kiosk else "tui"  # named in the daemon's audit records

    async def connect() -> RuntimeAPI:
        return await open_api(ctx.config, state_dir, standalone=ctx.args.standalone, via=via)

    async def reconnect() -> RuntimeAPI:
        client = await attach(state_dir, via=via)
        if client is None:
            raise ConnectionError("daemon not answering")
        return client

    tui = ctx.config.tui
    line = decide(ctx.args.low_bandwidth, tui.low_bandwidth, serial_baud(sys.stdout.fileno()))
    if line.on:
        log.info("dashboard in low-bandwidth mode: %s", line.why)
    return EdgeApp(
        connect,
        reconnect,
        readonly=ctx.args.readonly,
        kiosk=ctx.args.kiosk,
        low_bandwidth=line.why if line.on else None,
        refresh_s=tui.low_bandwidth_refresh_s,
        ascii=tui.ascii,
    )


def run_app(ctx: Context) -> int:
    _log_to_file(ctx.state_dir)
    app = build_app(ctx)
    app.run()
    return 0
