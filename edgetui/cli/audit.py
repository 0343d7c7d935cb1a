"""`edgetui audit [--since T]`, `audit verify`, `edgetui whoami`: the audit trail and the
caller's role.

`audit` and `audit verify` read the log file itself (like `ausearch`), so they work with
or without a daemon and on a copied log (`--file`, `--key`); the file's permissions (0640,
the daemon's group) decide who may read it. `whoami` asks the runtime.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edgetui.audit import (
    PUB_NAME,
    DeviceKeyError,
    audit_path,
    keys_dir,
    load_public,
    select_records,
    verify_log,
)
from edgetui.cli.context import Context, call_part, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.units import parse_since


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub, "audit", cmd_list, help="the audit trail: who did what, when, with what result"
    )
    p.add_argument("--since", metavar="T", help="from a time (2026-05-06T14:30Z) or age (2h)")
    p.add_argument("-n", type=int, default=0, metavar="N", help="only the last N records")
    p.add_argument("--file", metavar="PATH", help="another log (default: [audit] path)")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    q = command(asub, "verify", cmd_verify,
                help="check the hash chain and the signed head; exit 1 if broken",
                json="action")  # fmt: skip
    q.add_argument("--file", metavar="PATH", help="another log (default: [audit] path)")
    q.add_argument(
        "--key", metavar="PUB", help="the device's public key (default: keys/device.pub)"
    )

    p = command(sub, "whoami", cmd_whoami,
                help="your user, role and what the role may call", needs="inspect")  # fmt: skip


def _log_path(ctx: Context) -> Path:
    return Path(ctx.args.file) if ctx.args.file else audit_path(ctx.config, ctx.state_dir)


def _describe_os_error(path: Path, exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return (
            f"cannot read {path}: permission denied (the audit trail is readable by the "
            "daemon's user and group)"
        )
    return f"cannot read {path}: {exc.strerror or exc}"


def render(rec: dict[str, Any]) -> str:
    """One line: seq, time, who (via), method, params, outcome."""
    who, what, result = rec["who"], rec["what"], rec["result"]
    user = f"{who.get('user')}({who.get('uid')})"
    if who.get("key_id"):
        user += f" key {who['key_id']}"
    params = json.dumps(what.get("params") or {}, separators=(",", ":"))
    outcome = "ok" if result.get("ok") else f"FAILED: {result.get('error')}"
    if result.get("refused"):
        outcome = f"REFUSED: {result.get('error')}"
    return (
        f"{rec['seq']:>6} {rec['time']} {user:<16} {who.get('via', '?'):<7} "
        f"{what.get('method')} {params if params != '{}' else ''} -> {outcome}"
    )


def cmd_list(ctx: Context) -> int:
    path = _log_path(ctx)
    try:
        after = parse_since(ctx.args.since) if ctx.args.since else None
    except ValueError as exc:
        raise CommandError(str(exc), code=EXIT_USAGE) from None
    if ctx.args.n < 0:
        raise CommandError("-n must be 0 (all) or more", code=EXIT_USAGE)
    if not path.exists():
        raise CommandError(f"no audit trail at {path} (nothing audited yet?)")
    try:
        chosen = select_records(path, after=after, last=ctx.args.n)
    except OSError as exc:
        raise CommandError(_describe_os_error(path, exc)) from None
    for exc in chosen.bad:
        print(f"edgetui: {path}: {exc} (skipped; see `edgetui audit verify`)", file=sys.stderr)
    records, bad = chosen.records, len(chosen.bad)
    for rec in records:
        if ctx.args.json:
            print_json(rec)
        else:
            print(render(rec))
    return EXIT_ERROR if bad else EXIT_OK


def cmd_verify(ctx: Context) -> int:
    path = _log_path(ctx)
    pub_path = Path(ctx.args.key) if ctx.args.key else keys_dir(ctx.state_dir) / PUB_NAME
    public = None
    if ctx.args.key or pub_path.exists():
        try:
            public = load_public(pub_path)
        except DeviceKeyError as exc:
            raise CommandError(str(exc), code=EXIT_USAGE) from None
    if not path.exists():
        raise CommandError(f"no audit trail at {path}")
    try:
        report = verify_log(path, public)
    except OSError as exc:
        raise CommandError(_describe_os_error(path, exc)) from None
    if ctx.args.json:
        from edgetui.models.serde import to_dict

        print_json(to_dict(report))
    elif report.ok:
        head = report.head
        signed = (
            f"head signed at record {head['seq']} ({head['time']}), signature {report.signature}"
            if head
            else "no signed head yet"
        )
        print(f"audit trail OK: {report.records} records, {signed}")
    else:
        assert report.problem is not None
        print(f"audit trail BROKEN ({report.problem.kind}): {report.problem.message}")
    return EXIT_OK if report.ok else EXIT_ERROR


async def cmd_whoami(ctx: Context) -> int:
    async with ctx.api() as api:
        me = await call_part(api, "access.whoami", {}, "access control is not running")
    if ctx.args.json:
        print_json(me)
    else:
        print(
            f"{me['user']} (uid {me['uid']}): role {me['role']}, via {me['via']} "
            f"[{api.mode}]\nmay call: {', '.join(me['allowed'])}"
        )
    return EXIT_OK
