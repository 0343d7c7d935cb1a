"""`edgetui command sign|send`: the operator side of signed remote commands.

`sign` prints a signed command document (no device, no broker needed); `send` publishes one
to each target device's devices/<id>/commands and waits for its final state on
devices/<id>/commands/result (QUEUED, IN_PROGRESS, then SUCCEEDED, FAILED, REJECTED or
TIMED_OUT). Exit status: 0 every device SUCCEEDED, 1 anything else (or no answer in time),
2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.models.vocabulary import JobState
from edgetui.units import parse_duration


def register(sub: argparse._SubParsersAction) -> None:
    from edgetui.cli.context import add_repeated

    p = sub.add_parser("command", help="signed remote commands: sign, send")
    csub = p.add_subparsers(dest="command_action", metavar="ACTION", required=True)

    q = command(csub, "sign", cmd_sign, help="print a signed command document (JSON)", json=False)
    q.add_argument("name", metavar="COMMAND", help="ota.check, ota.apply, buffer.flush, ...")
    q.add_argument("--key", required=True, metavar="K.key", help="Ed25519 signing key")
    add_repeated(
        q,
        "--target",
        required=True,
        metavar="ID|type:T|all",
        help="a device id, type:T or all (repeatable)",
    )
    add_repeated(q, "--param", metavar="k=v", help="a param (repeatable)")
    q.add_argument("--expires-in", default="1h", metavar="DURATION", help="30m, 1h, 2d (1h)")
    q.add_argument("--id", metavar="ID", help="the command id (default: a fresh one)")
    q.add_argument("--out", metavar="FILE", help="write the document here, not to stdout")

    q = command(csub, "send", cmd_send, help="publish a signed command and wait for its result")
    q.add_argument("file", metavar="FILE", help="the signed document (- for stdin)")
    q.add_argument("--broker", required=True, metavar="URL", help="mqtt://host:1883 or mqtts://")
    add_repeated(
        q,
        "--device",
        metavar="ID",
        help="device to send to (repeatable; default: the ids among the targets)",
    )
    q.add_argument("--timeout", type=float, default=60.0, metavar="S", help="wait this long")
    q.add_argument("--ca-file", metavar="PEM", help="CA for mqtts://")
    q.add_argument("--cert-file", metavar="PEM", help="client certificate (mTLS)")
    q.add_argument("--key-file", metavar="PEM", help="client key (mTLS)")
    q.add_argument("--username", help="MQTT user name")
    q.add_argument("--password-file", metavar="FILE", help="MQTT password, in a file")


def parse_param(text: str) -> tuple[str, Any]:
    """`k=v`: v as JSON when it parses (numbers, true, lists), else the string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param {text!r}: expected k=v")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def cmd_sign(ctx: Context) -> int:
    from edgetui.keys import load_private_key
    from edgetui.remote import SUPPORTED, sign_command

    a = ctx.args
    try:
        expires = parse_duration(a.expires_in, bare_seconds=True)
        params = dict(parse_param(p) for p in a.param)
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if a.name not in SUPPORTED:
        raise CommandError(
            f"unknown command {a.name!r} (supported: {', '.join(SUPPORTED)})", EXIT_USAGE
        )
    try:
        key = load_private_key(Path(a.key))
    except (OSError, ValueError) as exc:
        raise CommandError(f"command sign: {exc}") from None
    doc = sign_command(
        key, a.name, targets=a.target, params=params, expires_in_s=expires, command_id=a.id
    )
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if a.out:
        Path(a.out).write_text(text)
        print(
            f"signed {doc['command']} {doc['id']} by key {doc['key_id']} -> {a.out}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _read_doc(path: str) -> tuple[bytes, dict[str, Any]]:
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"command send: cannot read {path}: {exc.strerror}") from None
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            raise ValueError("not a command document (no id)")
    except ValueError as exc:
        raise CommandError(f"command send: {path}: {exc}", EXIT_USAGE) from None
    return data, doc


def cmd_send(ctx: Context) -> int:
    a = ctx.args
    data, doc = _read_doc(a.file)
    targets = doc.get("targets") if isinstance(doc.get("targets"), list) else []
    devices = a.device or [
        t for t in targets if isinstance(t, str) and t != "all" and not t.startswith("type:")
    ]
    if not devices:
        raise CommandError(
            "command send: the targets name no device id: give --device ID (repeatable)",
            EXIT_USAGE,
        )
    finals = _send(ctx, data, doc["id"], devices)
    ok = all(finals.get(d, {}).get("state") == JobState.SUCCEEDED for d in devices)
    for d in devices:
        if d not in finals:
            msg = f"no final state from {d} within {a.timeout:g} s (is it connected?)"
            if a.json:
                print_json({"device_id": d, "command_id": doc["id"], "state": None, "message": msg})
            else:
                print(f"{d}: {msg}")
    return EXIT_OK if ok else EXIT_ERROR


def _auth(a: argparse.Namespace) -> Any:
    """The options' TLS files and credentials (over the `[fleet]` TLS keys)."""
    from edgetui.fleet.mqtt import MqttAuth

    try:
        password = Path(a.password_file).read_text().strip() if a.password_file else ""
    except OSError as exc:
        raise CommandError(f"command send: cannot read {a.password_file}: {exc.strerror}") from None
    return MqttAuth(
        ca_file=a.ca_file or "",
        cert_file=a.cert_file or "",
        key_file=a.key_file or "",
        username=a.username or "",
        password=password if a.username else "",
    )


def _print_record(json_lines: bool, device: str, rec: dict[str, Any]) -> None:
    """One state record of `device` as it comes, as text or a JSON line."""
    if json_lines:
        print_json({k: v for k, v in rec.items() if k not in ("id", "seq")})
    else:
        print(
            f"{device}: {rec.get('state')} {rec.get('reason') or ''} "
            f"{rec.get('message') or ''}".rstrip(),
            flush=True,
        )


def _send(ctx: Context, data: bytes, cid: str, devices: list[str]) -> dict[str, Any]:
    """Publish to each device over the fleet session's MQTT client, print each state as it
    comes; the final one per device."""
    from edgetui.cli.fleet_options import fleet_session
    from edgetui.fleet.command_send import SendError, send_command
    from edgetui.fleet.session import SessionError

    a = ctx.args
    with fleet_session(ctx, auth=_auth(a), prefix="command send: ") as session:
        try:
            broker = session.broker
        except SessionError as exc:
            raise CommandError(f"--broker: {exc}", EXIT_USAGE) from None
        try:
            return send_command(
                session.mqtt_client(),
                broker,
                data,
                cid,
                devices,
                timeout_s=a.timeout,
                on_record=partial(_print_record, a.json),
            )
        except SendError as exc:
            raise CommandError(f"command send: {exc}") from None
