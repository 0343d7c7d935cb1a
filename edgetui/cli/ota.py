"""`edgetui ota status|check|apply|rollback|commit|history`: A/B updates from the shell.

Exit codes: 0 ok (update committed, or nothing to do), 1 refused/failed/rolled back,
2 usage. `--json` prints stable JSON (NDJSON progress lines for `apply`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.api import RuntimeAPI
from edgetui.cli.context import Context, call_part, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, CommandError

TERMINAL = {
    "done": EXIT_OK,
    "awaiting_commit": EXIT_OK,
    "rolled_back": EXIT_ERROR,
    "failed": EXIT_ERROR,
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ota", help="A/B slot updates: status, check, apply, rollback, commit")
    osub = p.add_subparsers(dest="ota_command", metavar="SUBCOMMAND", required=True)
    s = command(
        osub, "status", cmd_status, help="booted/primary slot and per-slot state", needs="inspect"
    )
    s = command(osub, "check", cmd_check,
                help="fetch the manifest and say whether an update is available",
                needs="inspect")  # fmt: skip
    s.add_argument("--manifest", metavar="URL|PATH", help="instead of [ota] manifest_url")
    s = command(osub, "apply", cmd_apply,
                help="install the update into the inactive slot and boot it",
                needs="slot")  # fmt: skip
    s.add_argument("--manifest", metavar="URL|PATH", help="instead of [ota] manifest_url")
    s.add_argument("--allow-downgrade", action="store_true",
                   help="accept an older version (an explicit rollback by release)")  # fmt: skip
    s.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    s.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="give up waiting for the outcome after S seconds")  # fmt: skip
    s = command(osub, "rollback", cmd_rollback,
                help="switch to the other slot when it is good", needs="slot")  # fmt: skip
    s.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    s = command(osub, "commit", cmd_commit, help="mark the booted trial slot good", needs="slot")
    s = command(osub, "history", cmd_history,
                help="every update, commit and rollback with its reason",
                needs="inspect")  # fmt: skip


def _manifest(arg: str | None) -> str | None:
    # The daemon may run elsewhere: hand it an absolute path for a local manifest.
    if arg and "://" not in arg:
        return str(Path(arg).expanduser().resolve())
    return arg


async def _call(api: RuntimeAPI, method: str, params: dict[str, Any] | None = None) -> Any:
    return await call_part(api, method, params, "this runtime has no OTA service")


async def _confirm(ctx: Context, question: str) -> None:
    if ctx.args.yes or not sys.stdin.isatty():
        return
    answer = await asyncio.to_thread(input, f"{question} [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CommandError("cancelled", EXIT_ERROR)


def _short(sha: str | None) -> str:
    return sha.removeprefix("sha256:")[:16] if sha else "-"


def render_status(st: dict[str, Any]) -> str:
    """Text in the manner of `rauc status --detailed`."""
    booted, primary = st.get("booted"), st.get("primary")
    slots = st.get("slots", {})
    bv = slots.get(booted, {}).get("version") if booted else None
    upd = st.get("update") or {}
    lines = [
        "=== System Info ===",
        f"Booted from:   {booted or '-'}" + (f" ({bv})" if bv else ""),
        f"Primary:       {primary or '-'}",
        f"Update:        {upd.get('message') or upd.get('state') or '-'}",
    ]
    if st.get("progress") and st["progress"].get("active"):
        p = st["progress"]
        pct = "" if p.get("percent") is None else f" {p['percent']:.0f}%"
        lines.append(f"In progress:   {p['phase']}{pct}: {p['message']}")
    if st.get("health"):
        lines.append(
            f"Health check:  {st['health'].get('state')} (slot {st['health'].get('slot')})"
        )
    lines.append(f"Last rollback: {st.get('last_rollback_reason') or '-'}")
    v = st.get("validation") or {}
    if v.get("summary"):
        versions = f" ({v.get('from_version') or '?'} -> {v.get('to_version') or '?'})"
        lines.append(f"Validation:    {v['summary']}{versions}")
    lines += ["", "=== Slot States ==="]
    for name in sorted(slots):
        s = slots[name]
        marks = [m for m, on in (("booted", name == booted), ("primary", name == primary)) if on]
        lines.append(
            f"{'x' if name == booted else 'o'} [{name}] ({s.get('path', '')})"
            + (f" {', '.join(marks)}" if marks else "")
        )
        rows = [
            ("status", s.get("status")),
            ("version", s.get("version") or "-"),
            ("sha256", s.get("sha256") or "-"),
            ("content", _short(s.get("content_sha256"))),
            ("installed", s.get("installed_at") or "-"),
            ("activated", s.get("activated_at") or "-"),
            ("boot attempts", f"{s.get('boot_attempts', 0)}/{st.get('max_boot_attempts', '?')}"),
            ("last error", s.get("last_error") or "-"),
        ]
        if s.get("installing"):
            rows.insert(1, ("installing", s["installing"]))
        lines += [f"      {k + ':':<15}{v}" for k, v in rows]
    return "\n".join(lines)


async def cmd_status(ctx: Context) -> int:
    async with ctx.api() as api:
        st = await _call(api, "ota.status")
    if ctx.args.json:
        print_json(st)
    else:
        print(render_status(st))
    return EXIT_OK


async def cmd_check(ctx: Context) -> int:
    async with ctx.api() as api:
        offer = await _call(api, "ota.check", {"manifest": _manifest(ctx.args.manifest)})
    if ctx.args.json:
        print_json(offer)
    elif offer["available"]:
        print(
            f"update available: {offer['version']} (installed: "
            f"{offer['installed_version'] or 'nothing'})"
        )
        if offer.get("changes"):
            print(f"changes: {offer['changes']}")
    else:
        print(f"up to date: {offer['message']}")
    return EXIT_OK


def _say_progress(ctx: Context, note: dict[str, Any]) -> None:
    if ctx.args.json:
        print_json({"progress": note})
        return
    pct = "" if note.get("percent") is None else f" {note['percent']:3.0f}%"
    print(f"{note['phase']:<15}{pct:>5} {note['message']}", flush=True)


async def _follow(
    ctx: Context, api: RuntimeAPI, start: Callable[[], Awaitable[Any]]
) -> tuple[dict[str, Any], Any]:
    """Print progress until the update reaches a terminal phase; returns (note, result)."""
    sub = api.subscribe(["ota.progress"])
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def pump() -> None:
        async for note in sub:
            queue.put_nowait(note.data)

    pump_task = asyncio.create_task(pump())
    await asyncio.sleep(0.05)  # subscribed before the update starts
    try:
        start_task = asyncio.ensure_future(start())
        last_download = -10.0
        while True:
            get = asyncio.create_task(queue.get())
            waits = {get} if start_task.done() else {get, start_task}
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if start_task in done:
                exc = start_task.exception()
                if exc is not None:
                    get.cancel()
                    raise exc
            if get not in done:
                get.cancel()
                continue
            note = get.result()
            if note["phase"] in ("download", "extract") and not ctx.args.json:
                pct = note.get("percent") or 0
                if pct - last_download < 10 and pct < 100:
                    continue  # a line per 10% is plenty on a terminal
                last_download = pct
            _say_progress(ctx, note)
            if note["phase"] in TERMINAL and start_task.done():
                return note, start_task.result()
    finally:
        pump_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump_task


async def cmd_apply(ctx: Context) -> int:
    manifest = _manifest(ctx.args.manifest)
    async with ctx.api() as api:
        if not ctx.args.yes and sys.stdin.isatty():
            offer = await _call(api, "ota.check", {"manifest": manifest})
            if not offer["available"] and not ctx.args.allow_downgrade:
                print(f"up to date: {offer['message']}")
                return EXIT_OK
            await _confirm(
                ctx,
                f"Install {offer['version']} (installed: "
                f"{offer['installed_version'] or 'nothing'}) and restart into it?",
            )
        params = {"manifest": manifest, "allow_downgrade": ctx.args.allow_downgrade}
        ota = ctx.config.ota
        timeout = ctx.args.timeout or (
            120 + ota.health_window_s + 3 * ota.health_timeout_s + 10 * ota.download_timeout_s
        )
        before = await _call(api, "ota.status")
        try:
            note, result = await asyncio.wait_for(
                _follow(ctx, api, lambda: _call(api, "ota.apply", params)),
                timeout,
            )
        except TimeoutError:
            raise CommandError(
                f"no outcome after {timeout:.0f} s; see `edgetui ota status`"
            ) from None
        phase = note["phase"]
        if phase == "rolled_back" and before.get("booted"):
            await _wait_booted(api, before["booted"])  # let the rollback restart finish
        st = await _call(api, "ota.status")
    if ctx.args.json:
        print_json({"result": phase, "message": note["message"], "apply": result, "ota": st})
    else:
        print(f"result: {phase.replace('_', ' ')}: {note['message']}")
    return TERMINAL[phase]


async def _wait_booted(api: RuntimeAPI, slot: str, timeout: float = 120) -> bool:
    """True once a fresh snapshot shows `slot` booted (the restart is complete)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for note in api.subscribe(["snapshot"]):
                if (note.data.get("ota") or {}).get("booted") == slot:
                    return True
    return False


async def cmd_rollback(ctx: Context) -> int:
    async with ctx.api() as api:
        st = await _call(api, "ota.status")
        other = "b" if st.get("booted") == "a" else "a"
        target = st["slots"].get(other, {})
        await _confirm(
            ctx,
            f"Roll back to {target.get('version') or other} (slot {other}, "
            f"{target.get('status')}) and restart?",
        )
        out = await _call(api, "ota.rollback")
        restarted = await _wait_booted(api, out["slot"])
    if ctx.args.json:
        print_json(out)
    else:
        done = "runtime restarted" if restarted else "restart not confirmed yet"
        print(f"rolled back to {out['version']} (slot {out['slot']}); {done}")
    return EXIT_OK


async def cmd_commit(ctx: Context) -> int:
    async with ctx.api() as api:
        out = await _call(api, "ota.commit")
    if ctx.args.json:
        print_json(out)
    else:
        print(out["message"])
    return EXIT_OK


async def cmd_history(ctx: Context) -> int:
    async with ctx.api() as api:
        rows = await _call(api, "ota.history")
    if ctx.args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print("no updates yet")
    for h in rows:
        versions = f"{h.get('from_version') or '-'} -> {h.get('to_version') or '-'}"
        print(
            f"{h['time']}  {h['action']:<8} {h['result']:<11} slot {h.get('slot') or '-'}  "
            f"{versions:<18} {h['reason']}"
        )
    return EXIT_OK
