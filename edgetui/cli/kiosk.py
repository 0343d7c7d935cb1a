"""`edgetui kiosk set-pin|status`: the kiosk PIN, stored as a scrypt hash, never the PIN."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from edgetui.cli.context import Context, call_part, command, command_group, print_json
from edgetui.cli.exits import EXIT_OK, EXIT_USAGE, CommandError
from edgetui.models.kiosk import KioskSection, PinSource

MISSING = "the kiosk PIN service is not running in this runtime"


def register(sub: argparse._SubParsersAction) -> None:
    ksub = command_group(sub, "kiosk", help="the kiosk PIN (hash, backoff, lockout)")
    q = command(
        ksub, "set-pin", cmd_set_pin, help="store a new kiosk PIN as a scrypt hash", needs="inspect"
    )
    q.add_argument(
        "--pin-stdin",
        action="store_true",
        help="read the PIN from the first line of stdin (scripts) instead of asking twice",
    )
    q = command(ksub, "status", cmd_status,
                help="where the PIN comes from, failures, lockout", needs="inspect")  # fmt: skip


def _read_pin(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask for the PIN on: use --pin-stdin", EXIT_USAGE)
    pin = getpass.getpass("New kiosk PIN (4-16 digits): ")
    if getpass.getpass("Repeat it: ") != pin:
        raise CommandError("the two PINs differ; nothing changed", EXIT_USAGE)
    return pin


async def cmd_set_pin(ctx: Context) -> int:
    from edgetui.kiosk import PinError, check_pin_format, hash_pin

    pin = _read_pin(ctx.args.pin_stdin)
    try:
        check_pin_format(pin)
    except PinError as exc:
        raise CommandError(f"{exc}; nothing changed", EXIT_USAGE) from None
    # Hashed here: only the hash crosses the control socket and reaches the disk.
    pin_hash = await asyncio.to_thread(hash_pin, pin)
    async with ctx.api() as api:
        result = await call_part(api, "kiosk.set_pin", {"pin_hash": pin_hash}, MISSING)
    if ctx.args.json:
        print_json(result)
    else:
        print(f"kiosk PIN set: scrypt hash in {result['path']}")
        if result.get("warning"):
            print(f"note: {result['warning']}")
    return EXIT_OK


def render(k: KioskSection) -> str:
    """PIN source, failures and lockout in words."""
    lines = [
        f"PIN        {'scrypt hash' if k.pin == PinSource.HASH else k.pin}",
        f"failures   {k.failures} of {k.max_attempts} (lockouts so far: {k.lockouts})",
    ]
    if k.locked:
        lines.append(f"LOCKED     for {k.retry_in_s:g} s more")
    elif k.retry_in_s:
        lines.append(f"next try   in {k.retry_in_s:g} s")
    if k.warning:
        lines.append(f"warning    {k.warning}")
    return "\n".join(lines)


async def cmd_status(ctx: Context) -> int:
    async with ctx.api() as api:
        snap = await api.status()
    section = snap.sections.get("kiosk")
    if section is None:
        raise CommandError(MISSING)
    if ctx.args.json:
        print_json({"kiosk": section})
    else:
        print(render(section))
    return EXIT_OK
