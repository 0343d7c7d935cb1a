"""Core headless commands: status, watch, version, daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging

from edgetui import __version__
from edgetui.api import Disconnected
from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_OK, CommandError
from edgetui.cli.render import render_status
from edgetui.models import Snapshot

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "status", cmd_status, help="print one snapshot of the device", needs="inspect")
    p.add_argument("--history", action="store_true", help="include sparkline history in JSON")

    p = command(
        sub, "watch", cmd_watch, help="stream snapshots (NDJSON with --json)", needs="inspect"
    )
    p.add_argument("--interval", type=float, default=None, metavar="S",
                   help="seconds between lines (default: the telemetry interval)")  # fmt: skip
    p.add_argument("--count", type=int, default=0, metavar="N", help="stop after N lines")

    p = command(sub, "version", cmd_version, help="print the software version")

    p = command(sub, "daemon", cmd_daemon,
                help="run the runtime as a service with a control socket", json=False)  # fmt: skip


async def cmd_status(ctx: Context) -> int:
    async with ctx.api() as api:
        snap = await api.status()
    if ctx.args.json:
        print_json(snap.to_dict(with_history=ctx.args.history))
    else:
        print(render_status(snap))
    return EXIT_OK


async def cmd_watch(ctx: Context) -> int:
    interval = ctx.args.interval
    count = ctx.args.count
    if interval is not None and interval <= 0:
        raise CommandError("--interval must be above 0", code=2)
    printed = 0
    last_at = 0.0
    loop = asyncio.get_running_loop()
    async with ctx.api() as api:
        try:
            async for note in api.subscribe(["snapshot"]):
                now = loop.time()
                if interval is not None and printed and now - last_at < interval - 0.05:
                    continue
                last_at = now
                snap = Snapshot.from_dict(note.data)
                if ctx.args.json:
                    print_json(snap.to_dict(with_history=False))
                else:
                    print(render_status(snap, brief=True), flush=True)
                printed += 1
                if count and printed >= count:
                    break
        except Disconnected:
            raise CommandError("the daemon went away") from None
    return EXIT_OK


async def cmd_version(ctx: Context) -> int:
    if ctx.args.json:
        print_json({"version": __version__})
    else:
        print(f"edgetui {__version__}")
    return EXIT_OK


async def cmd_daemon(ctx: Context) -> int:
    from edgetui.daemon import DaemonError, serve

    try:
        await serve(ctx.config, ctx.state_dir)
    except DaemonError as exc:
        raise CommandError(str(exc)) from None
    return EXIT_OK
