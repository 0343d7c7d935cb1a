"""`edgetui bus tail|publish`: watch and feed the local agent event bus."""

from __future__ import annotations

import argparse
import json
from fnmatch import fnmatchcase
from typing import Any

from edgetui.api import APIError, Disconnected
from edgetui.cli.context import METHOD_NOT_FOUND, Context, command, command_group, print_json
from edgetui.cli.exits import EXIT_OK, EXIT_USAGE, CommandError

INVALID_PARAMS = -32602
SWITCH_MARGIN = 256  # bus tail: events the history read covers beyond those it prints


def register(sub: argparse._SubParsersAction) -> None:
    bsub = command_group(sub, "bus", help="tail or publish events on the local agent bus")

    t = command(bsub, "tail", cmd_tail,
                help="recent events, then live ones (NDJSON with --json)",
                needs="inspect")  # fmt: skip
    t.add_argument("--type", default="*", metavar="T", help="fnmatch pattern, e.g. 'MOTION_*'")
    t.add_argument("--count", type=int, default=0, metavar="N", help="stop after N events")
    t.add_argument("-n", "--history", type=int, default=10, metavar="N",
                   help="recent events to print first (default 10, 0 for live only)")  # fmt: skip

    pub = command(
        bsub, "publish", cmd_publish, help="publish one event onto the bus", needs="bus_publish"
    )
    pub.add_argument("type", metavar="TYPE", help="event type, e.g. MOTION_DETECTED")
    pub.add_argument("--data", metavar="JSON", help='event data object, e.g. \'{"location":"x"}\'')
    pub.add_argument("--source", help="CloudEvents source (default edgetui://<device>/cli)")


def _api_error(exc: APIError) -> CommandError:
    if exc.code == METHOD_NOT_FOUND:
        return CommandError("the event bus is not running on this device")
    code = EXIT_USAGE if exc.code == INVALID_PARAMS else 1
    return CommandError(str(exc), code)


def render_event(ev: dict[str, Any]) -> str:
    """One human line: time, type, source, data."""
    t = str(ev.get("time", ""))
    clock = t[11:23] if len(t) >= 23 else t
    data = json.dumps(ev.get("data") or {}, separators=(",", ":"), ensure_ascii=False)
    return f"{clock}  {ev.get('type', '?'):<18} {ev.get('source', '?')}  {data}"


def _emit(ev: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(ev)
    else:
        print(render_event(ev), flush=True)


async def cmd_tail(ctx: Context) -> int:
    args = ctx.args
    if args.count < 0 or args.history < 0:
        raise CommandError("--count and --history must be 0 or more", EXIT_USAGE)
    printed = 0
    seen: set[str] = set()
    async with ctx.api() as api:
        try:
            # Subscribe first, then read the history: an event published in between is
            # in both (printed once), never in neither.
            async for note in api.subscribe(["subscribed", "event"]):
                if note.kind == "subscribed":
                    if not args.history:
                        continue
                    # More events than are printed: every event published between the
                    # subscription and this read is then known, not only the last N (the
                    # older ones would come next from the subscription, out of order).
                    # SWITCH_MARGIN: as many as the daemon queues for one subscriber.
                    params = {"limit": args.history + SWITCH_MARGIN, "type": args.type}
                    recent = await api.call("bus.history", params)
                    seen.update(ev.get("id", "") for ev in recent)
                    for ev in recent[-args.history :]:
                        _emit(ev, args.json)
                        printed += 1
                        if args.count and printed >= args.count:
                            return EXIT_OK
                    continue
                ev = note.data
                if ev.get("id") in seen or not fnmatchcase(str(ev.get("type", "")), args.type):
                    continue
                _emit(ev, args.json)
                printed += 1
                if args.count and printed >= args.count:
                    break
        except APIError as exc:
            if isinstance(exc, Disconnected):
                raise CommandError("the daemon went away") from None
            raise _api_error(exc) from None
    return EXIT_OK


async def cmd_publish(ctx: Context) -> int:
    args = ctx.args
    data: Any = None
    if args.data is not None:
        try:
            data = json.loads(args.data)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--data is not valid JSON: {exc}", EXIT_USAGE) from None
        if not isinstance(data, dict):
            raise CommandError("--data must be a JSON object, e.g. '{\"k\": 1}'", EXIT_USAGE)
    params: dict[str, Any] = {"type": args.type, "data": data}
    if args.source:
        params["source"] = args.source
    async with ctx.api() as api:
        try:
            ev = await api.call("bus.publish", params)
        except APIError as exc:
            raise _api_error(exc) from None
    if args.json:
        print_json(ev)
    else:
        print(f"published {ev['type']} id={ev['id']} source={ev['source']}")
    return EXIT_OK
