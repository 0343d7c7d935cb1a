"""`edgetui buffer stats|flush|export`: the store-and-forward buffer from a shell."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edgetui.cli.context import Context, call_part, command, command_group, emit, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.models.buffer_section import BufferSection, Encryption
from edgetui.models.serde import convert
from edgetui.units import human_bytes


def register(sub: argparse._SubParsersAction) -> None:
    bsub = command_group(sub, "buffer", help="store-and-forward buffer: stats, flush, export")
    command(bsub, "stats", cmd_stats, help="queued messages, connection, counters", needs="inspect")
    q = command(bsub, "flush", cmd_flush,
                help="drain now and wait until empty (exit 1 if not)",
                needs="buffer_send")  # fmt: skip
    q.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds to wait")

    q = command(
        bsub, "export", cmd_export, help="write the backlog to a file (NDJSON)", needs="buffer_send"
    )
    q.add_argument("--out", required=True, metavar="FILE", help="NDJSON file to write")
    q.add_argument("--remove", action="store_true", help="remove exported messages from the queue")
    q.add_argument(
        "--decrypt",
        action="store_true",
        help="write sealed messages decrypted (default: ciphertext, as stored)",
    )

    command(bsub, "rotate-key", cmd_rotate_key,
                help="seal new messages under a new data key", needs="buffer_send")  # fmt: skip


async def _call(ctx: Context, method: str, params: dict[str, Any] | None = None) -> Any:
    async with ctx.api() as api:
        return await call_part(api, method, params, "the buffer is not running in this runtime")


def _sealed(enc: Encryption | None) -> str:
    if enc is None:
        return "no (payloads in clear)"
    how = enc.alg if enc.enabled else "old rows only"
    lost = f"; {enc.unreadable} cannot be opened" if enc.unreadable else ""
    return f"{how}, data key {enc.key_id} ({enc.keys} in {enc.key_file}){lost}"


def render_stats(s: BufferSection) -> str:
    """Aligned lines for `buffer stats` (the JSON form is the stable contract)."""
    age = s.oldest_age_s
    classes = " ".join(f"{k} {v}" for k, v in s.by_class.items())
    lines = [
        f"uplink     {s.state_text}",
        f"broker     {s.broker or 'none'}",
        f"queued     {s.queued} messages, {human_bytes(s.queued_bytes)} "
        f"({s.fill_percent}% full; bounds {s.max_messages} messages / "
        f"{human_bytes(s.max_bytes)}, on_full {s.on_full})",
        f"classes    {classes}",
        f"oldest     {'n/a' if age is None else f'{age:.0f} s ago'}",
        f"sending    {s.send_rate} msg/s, {s.inflight} in flight "
        f"(window {s.window}), {s.sent} sent",
        f"lost       dropped {s.dropped}, rejected {s.rejected}, "
        f"expired {s.expired}, rolled up {s.rolled_up}",
        f"seq        {s.seq} (last assigned)",
        f"database   {s.path}",
        f"sealed     {_sealed(s.encryption)}",
    ]
    problems = (  # each line only when there is something to say
        (s.last_error, f"last error {s.last_error} (at {s.last_error_at})"),
        (s.last_store_error, f"store      {s.last_store_error}"),
        (s.moved_aside, f"corrupt db moved aside to {s.moved_aside}"),
    )
    return "\n".join(lines + [line for present, line in problems if present])


async def cmd_stats(ctx: Context) -> int:
    stats = convert(BufferSection, await _call(ctx, "buffer.stats"))
    return emit(ctx, stats, render_stats(stats))


async def cmd_flush(ctx: Context) -> int:
    if ctx.args.timeout < 0:
        raise CommandError("--timeout must be 0 or more", code=EXIT_USAGE)
    result = await _call(ctx, "buffer.flush", {"timeout": ctx.args.timeout})
    if ctx.args.json:
        print_json(result)
    elif result["ok"]:
        print(f"flushed: {result['sent']} sent in {result['waited_s']} s; the buffer is empty")
    else:
        why = result.get("last_error") or result.get("state")
        print(
            f"not flushed: {result['remaining']} still queued after {result['waited_s']} s "
            f"({result['sent']} sent); {why}"
        )
    return EXIT_OK if result["ok"] else EXIT_ERROR


def _absolute(path: str) -> Path:
    # The daemon writes the file: a relative path must mean the caller's directory.
    return Path(path).expanduser().resolve()


async def cmd_export(ctx: Context) -> int:
    out = _absolute(ctx.args.out)
    params = {"out": str(out), "remove": ctx.args.remove}
    if ctx.args.decrypt:  # only asked for when wanted: a role may allow export but not this
        params["decrypt"] = True
    result = await _call(ctx, "buffer.export", params)
    if ctx.args.json:
        print_json(result)
    else:
        kept = "removed from the queue" if ctx.args.remove else "still queued"
        sealed = f", {result['sealed']} sealed" if result.get("sealed") else ""
        print(
            f"exported {result['messages']} messages ({human_bytes(result['bytes'])}"
            f"{sealed}) to {result['path']}; {kept}"
        )
    return EXIT_OK


async def cmd_rotate_key(ctx: Context) -> int:
    result = await _call(ctx, "buffer.rotate_key")
    if ctx.args.json:
        print_json(result)
    else:
        retired = ", ".join(result["retired"]) or "none (older keys stay until their rows drain)"
        print(
            f"data key rotated: new messages sealed under {result['key_id']} "
            f"(was {result['previous']}); retired: {retired}; key file {result['key_file']}"
        )
    return EXIT_OK
