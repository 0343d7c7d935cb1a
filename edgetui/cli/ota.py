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
from edgetui.cli.context import Context, call_part, command, command_group, emit, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, CommandError
from edgetui.models.ota import HistoryEntry
from edgetui.models.ota_section import OtaSection, Phase, Progress, SlotRow, UpdateOffer
from edgetui.models.serde import convert

# The exit code of `ota apply` for each final phase (models/ota_section FINAL_PHASES).
TERMINAL = {
    Phase.DONE: EXIT_OK,
    Phase.AWAITING_COMMIT: EXIT_OK,
    Phase.ROLLED_BACK: EXIT_ERROR,
    Phase.FAILED: EXIT_ERROR,
}


def register(sub: argparse._SubParsersAction) -> None:
    osub = command_group(
        sub,
        "ota",
        help="A/B slot updates: status, check, apply, rollback, commit",
        metavar="SUBCOMMAND",
    )
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


def _slot_rows(s: SlotRow, max_attempts: int) -> list[tuple[str, str]]:
    rows = [
        ("status", str(s.status)),
        ("version", s.version or "-"),
        ("sha256", s.sha256 or "-"),
        ("content", _short(s.content_sha256)),
        ("installed", s.installed_at or "-"),
        ("activated", s.activated_at or "-"),
        ("boot attempts", f"{s.boot_attempts}/{max_attempts}"),
        ("last error", s.last_error or "-"),
    ]
    if s.installing:
        rows.insert(1, ("installing", s.installing))
    return rows


def render_status(st: OtaSection) -> str:
    """Text in the manner of `rauc status --detailed`."""
    bv = st.booted_version
    lines = [
        "=== System Info ===",
        f"Booted from:   {st.booted or '-'}" + (f" ({bv})" if bv else ""),
        f"Primary:       {st.primary or '-'}",
        f"Update:        {st.update.message or st.update.state}",
    ]
    p = st.progress
    if p is not None and p.active:
        pct = "" if p.percent is None else f" {p.percent:.0f}%"
        lines.append(f"In progress:   {p.phase}{pct}: {p.message}")
    if st.health:
        lines.append(f"Health check:  {st.health.state} (slot {st.health.slot})")
    lines.append(f"Last rollback: {st.last_rollback_reason or '-'}")
    v = st.validation or {}
    if v.get("summary"):
        versions = f" ({v.get('from_version') or '?'} -> {v.get('to_version') or '?'})"
        lines.append(f"Validation:    {v['summary']}{versions}")
    lines += ["", "=== Slot States ==="]
    for name, s in sorted(st.slots.items()):
        on = (("booted", name == st.booted), ("primary", name == st.primary))
        marks = ", ".join(m for m, yes in on if yes)
        lines.append(
            f"{'x' if name == st.booted else 'o'} [{name}] ({s.path})"
            + (f" {marks}" if marks else "")
        )
        lines += [f"      {k + ':':<15}{v}" for k, v in _slot_rows(s, st.max_boot_attempts)]
    return "\n".join(lines)


async def _status(api: RuntimeAPI) -> OtaSection:
    return convert(OtaSection, await _call(api, "ota.status"))


async def _offer(api: RuntimeAPI, manifest: str | None) -> UpdateOffer:
    return convert(UpdateOffer, await _call(api, "ota.check", {"manifest": manifest}))


async def cmd_status(ctx: Context) -> int:
    async with ctx.api() as api:
        st = await _status(api)
    return emit(ctx, st, render_status(st))


def _offer_lines(offer: UpdateOffer) -> list[str]:
    if not offer.available:
        return [f"up to date: {offer.message}"]
    installed = offer.installed_version or "nothing"
    lines = [f"update available: {offer.version} (installed: {installed})"]
    return lines + ([f"changes: {offer.changes}"] if offer.changes else [])


async def cmd_check(ctx: Context) -> int:
    async with ctx.api() as api:
        offer = await _offer(api, _manifest(ctx.args.manifest))
    return emit(ctx, offer, _offer_lines(offer))


def _say_progress(ctx: Context, note: Progress) -> None:
    if ctx.args.json:
        print_json({"progress": note})
        return
    pct = "" if note.percent is None else f" {note.percent:3.0f}%"
    print(f"{note.phase:<15}{pct:>5} {note.message}", flush=True)


async def _follow(
    ctx: Context, api: RuntimeAPI, start: Callable[[], Awaitable[Any]]
) -> tuple[Progress, Any]:
    """Print progress until the update reaches a terminal phase; returns (note, result)."""
    sub = api.subscribe(["ota.progress"])
    queue: asyncio.Queue[Progress] = asyncio.Queue()

    async def pump() -> None:
        async for note in sub:
            queue.put_nowait(convert(Progress, note.data))

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
            if note.phase in (Phase.DOWNLOAD, Phase.EXTRACT) and not ctx.args.json:
                pct = note.percent or 0
                if pct - last_download < 10 and pct < 100:
                    continue  # a line per 10% is plenty on a terminal
                last_download = pct
            _say_progress(ctx, note)
            if note.phase in TERMINAL and start_task.done():
                return note, start_task.result()
    finally:
        pump_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump_task


async def cmd_apply(ctx: Context) -> int:
    manifest = _manifest(ctx.args.manifest)
    async with ctx.api() as api:
        if not ctx.args.yes and sys.stdin.isatty():
            offer = await _offer(api, manifest)
            if not offer.available and not ctx.args.allow_downgrade:
                print(f"up to date: {offer.message}")
                return EXIT_OK
            await _confirm(
                ctx,
                f"Install {offer.version} (installed: "
                f"{offer.installed_version or 'nothing'}) and restart into it?",
            )
        params = {"manifest": manifest, "allow_downgrade": ctx.args.allow_downgrade}
        ota = ctx.config.ota
        timeout = ctx.args.timeout or (
            120 + ota.health_window_s + 3 * ota.health_timeout_s + 10 * ota.download_timeout_s
        )
        before = await _status(api)
        try:
            note, result = await asyncio.wait_for(
                _follow(ctx, api, lambda: _call(api, "ota.apply", params)),
                timeout,
            )
        except TimeoutError:
            raise CommandError(
                f"no outcome after {timeout:.0f} s; see `edgetui ota status`"
            ) from None
        phase = note.phase
        if phase == Phase.ROLLED_BACK and before.booted:
            await _wait_booted(api, before.booted)  # let the rollback restart finish
        st = await _status(api)
    doc = {"result": phase, "message": note.message, "apply": result, "ota": st}
    emit(ctx, doc, f"result: {phase.replace('_', ' ')}: {note.message}")
    return TERMINAL[phase]


async def _wait_booted(api: RuntimeAPI, slot: str, timeout: float = 120) -> bool:
    """True once a fresh snapshot shows `slot` booted (the restart is complete)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for note in api.subscribe(["snapshot"]):
                if convert(OtaSection, note.data.get("ota") or {}).booted == slot:
                    return True
    return False


async def cmd_rollback(ctx: Context) -> int:
    async with ctx.api() as api:
        st = await _status(api)
        other = "b" if st.booted == "a" else "a"
        target = st.slot(other) or SlotRow(other)
        await _confirm(
            ctx,
            f"Roll back to {target.version or other} (slot {other}, {target.status}) and restart?",
        )
        out = await _call(api, "ota.rollback")
        restarted = await _wait_booted(api, out["slot"])
    done = "runtime restarted" if restarted else "restart not confirmed yet"
    return emit(ctx, out, f"rolled back to {out['version']} (slot {out['slot']}); {done}")


async def cmd_commit(ctx: Context) -> int:
    async with ctx.api() as api:
        out = await _call(api, "ota.commit")
    return emit(ctx, out, out["message"])


async def cmd_history(ctx: Context) -> int:
    async with ctx.api() as api:
        rows = convert(list[HistoryEntry], await _call(api, "ota.history"))
    return emit(ctx, rows, [_history_line(h) for h in rows] or ["no updates yet"])


def _history_line(h: HistoryEntry) -> str:
    versions = f"{h.from_version or '-'} -> {h.to_version or '-'}"
    return f"{h.time}  {h.action:<8} {h.result:<11} slot {h.slot or '-'}  {versions:<18} {h.reason}"
