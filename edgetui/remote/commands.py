"""The signed remote command, modelled on an AWS IoT Jobs execution.

A command is one JSON object:

    {"id": "c-0042", "command": "ota.apply", "params": {"manifest_url": "https://..."},
     "issued_at": "2026-11-27T10:00:00Z", "expires": "2026-11-27T11:00:00Z",
     "targets": ["cam-042", "type:camera", "all"], "key_id": "<16 hex>",
     "signature": "<base64 Ed25519 over the canonical JSON of every other field>"}

The canonical JSON is the same as the OTA manifest's (sorted keys, no spaces, UTF-8).
`verify_command` refuses with a `CommandRefused` whose `code` is one of REASONS and whose
message is one line; nothing else escapes it (a property the fuzz tests check).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgetui.keys import key_id, load_public_key
from edgetui.models.clock import format_rfc3339, parse_rfc3339
from edgetui.models.untrusted import no_duplicate_keys

MAX_COMMAND_BYTES = 16 * 1024
ECHO = 64  # refused input is echoed at most this long
FIELDS = ("id", "command", "params", "issued_at", "expires", "targets", "key_id", "signature")
REASONS = (
    "malformed",
    "bad_signature",
    "unknown_key",
    "revoked_key",
    "expired",
    "not_yet_valid",
    "not_for_this_device",
    "replayed",
    "unknown_command",
    "bad_params",
    "busy",
)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class CommandRefused(Exception):
    """A command was refused; `code` is one of REASONS, the message one line."""

    def __init__(self, code: str, message: str, command_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.command_id = command_id


def _echo(value: Any) -> str:
    # A refusal is one line: a string with a newline or another control character is shown
    # as its repr (Hypothesis found an `expires` of "\n" echoed as is).
    text = value if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= ECHO else text[:ECHO] + "..."


# -- params of the supported commands: name -> (required, optional) checkers -------------
def _url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^(https?|file)://\S+$", value):
        raise ValueError("must be an http(s):// or file:// URL")
    if len(value) > 2048:
        raise ValueError("is longer than 2048 characters")
    return value


def _agent_name(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9_.-]{1,64}$", value):
        raise ValueError("must be an agent name (letters, digits, _ . -)")
    return value


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise ValueError("must be a number of seconds from 0 to 3600")
    return float(value)


Checker = Callable[[Any], Any]


@dataclass(frozen=True)
class Spec:
    """A supported command: the runtime method it runs and its params."""

    method: str
    required: dict[str, Checker] = field(default_factory=dict)
    optional: dict[str, Checker] = field(default_factory=dict)
    # Command params -> the runtime method's params.
    rename: dict[str, str] = field(default_factory=dict)


SUPPORTED: dict[str, Spec] = {
    "ota.check": Spec("ota.check"),
    "ota.apply": Spec("ota.apply", {"manifest_url": _url}, rename={"manifest_url": "manifest"}),
    "ota.rollback": Spec("ota.rollback"),
    "buffer.flush": Spec("buffer.flush", optional={"timeout": _timeout}),
    "validate": Spec("validate.run"),
    "agents.restart": Spec("agents.restart", {"name": _agent_name}),
}


@dataclass
class Command:
    """A parsed command document (not yet verified unless `verify_command` said so)."""

    id: str
    command: str
    params: dict[str, Any]
    issued_at: str
    expires: str
    targets: list[str]
    key_id: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}

    def signing_payload(self) -> bytes:
        """The canonical bytes the signature covers: every field but `signature`."""
        d = self.to_dict()
        d.pop("signature")
        return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def runtime_call(self) -> tuple[str, dict[str, Any]]:
        """The runtime method and params this command runs."""
        spec = SUPPORTED[self.command]
        return spec.method, {spec.rename.get(k, k): v for k, v in self.params.items()}


def parse_command(data: bytes | str) -> Command:
    """Parse and type-check a command document; CommandRefused("malformed") otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_COMMAND_BYTES:
        raise CommandRefused("malformed", f"command larger than {MAX_COMMAND_BYTES} bytes")
    try:
        obj = json.loads(data, object_pairs_hook=no_duplicate_keys)
    except RecursionError:
        raise CommandRefused("malformed", "command nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CommandRefused("malformed", f"command is not JSON: {_echo(str(exc))}") from None
    if not isinstance(obj, dict):
        raise CommandRefused("malformed", "command is not a JSON object")
    raw_id = obj.get("id")
    cid = raw_id if isinstance(raw_id, str) and _ID_RE.match(raw_id) else None

    def bad(msg: str) -> CommandRefused:
        return CommandRefused("malformed", f"malformed command: {msg}", cid)

    missing = [f for f in FIELDS if f not in obj]
    if missing:
        raise bad("missing field(s) " + ", ".join(missing))
    unknown = sorted(k for k in obj if k not in FIELDS)
    if unknown:
        raise bad("unknown field(s) " + ", ".join(_echo(k) for k in unknown[:5]))
    if cid is None:
        raise bad(f"id {_echo(raw_id)} is not 1-128 letters, digits, . _ : -")
    for name in ("command", "key_id", "signature"):
        if not isinstance(obj[name], str) or not obj[name] or len(obj[name]) > 256:
            raise bad(f"{name} must be a non-empty string")
    if not isinstance(obj["params"], dict):
        raise bad("params must be an object")
    targets = obj["targets"]
    if (
        not isinstance(targets, list)
        or not targets
        or len(targets) > 1000
        or not all(isinstance(t, str) and 0 < len(t) <= 256 for t in targets)
    ):
        raise bad("targets must be a non-empty list of device ids, type:T or all")
    for name in ("issued_at", "expires"):
        try:
            parse_rfc3339(obj[name])
        except ValueError:
            raise bad(f"{name} {_echo(obj[name])} is not an RFC 3339 time") from None
    return Command(
        id=cid,
        command=obj["command"],
        params=obj["params"],
        issued_at=obj["issued_at"],
        expires=obj["expires"],
        targets=list(targets),
        key_id=obj["key_id"],
        signature=obj["signature"],
    )


def targets_match(targets: Iterable[str], device_id: str, device_type: str) -> bool:
    """Whether a command's targets name this device (by id, `type:T`, or `all`)."""
    for t in targets:
        if t == "all" or t == device_id or (t.startswith("type:") and t[5:] == device_type):
            return True
    return False


def check_params(cmd: Command) -> None:
    """A supported command with the params it takes; CommandRefused otherwise."""
    spec = SUPPORTED.get(cmd.command)
    if spec is None:
        raise CommandRefused(
            "unknown_command",
            f"unknown command {_echo(cmd.command)!r} (supported: {', '.join(SUPPORTED)})",
            cmd.id,
        )
    unknown = sorted(k for k in cmd.params if k not in spec.required and k not in spec.optional)
    if unknown:
        raise CommandRefused(
            "bad_params",
            f"{cmd.command}: unknown param(s) {', '.join(_echo(k) for k in unknown[:5])}",
            cmd.id,
        )
    for name, check in {**spec.required, **spec.optional}.items():
        if name not in cmd.params:
            if name in spec.required:
                raise CommandRefused("bad_params", f"{cmd.command}: needs param {name}", cmd.id)
            continue
        try:
            check(cmd.params[name])
        except ValueError as exc:
            raise CommandRefused("bad_params", f"{cmd.command}: {name} {exc}", cmd.id) from None


@dataclass
class Verifier:
    """What a device checks a command against: its trusted and revoked keys, its id and
    type, and the bounds on validity (`[remote]`)."""

    trusted: dict[str, Ed25519PublicKey]
    revoked: set[str]
    device_id: str
    device_type: str
    max_validity_s: float = 86400.0
    clock_skew_s: float = 300.0

    @classmethod
    def from_files(
        cls,
        trusted_keys: Iterable[str],
        revoked_keys: Iterable[str],
        device_id: str,
        device_type: str,
        **bounds: float,
    ) -> Verifier:
        """Load the keys named in `[remote]`; ValueError naming an unreadable file (a
        revocation that cannot be read fails closed)."""
        trusted: dict[str, Ed25519PublicKey] = {}
        for path in trusted_keys:
            try:
                pub = load_public_key(Path(path))
            except OSError as exc:
                raise ValueError(
                    f"[remote] trusted_keys: cannot read {path}: {exc.strerror}"
                ) from None
            trusted[key_id(pub)] = pub
        revoked: set[str] = set()
        for entry in revoked_keys:
            if entry.endswith(".pub") or "/" in entry:
                try:
                    revoked.add(key_id(load_public_key(Path(entry))))
                except OSError as exc:
                    raise ValueError(
                        f"[remote] revoked_keys: cannot read {entry}: {exc.strerror}"
                    ) from None
            else:
                revoked.add(entry)
        return cls(trusted, revoked, device_id, device_type, **bounds)


def verify_command(data: bytes | str, v: Verifier, *, now: datetime | None = None) -> Command:
    """Parse and verify a command for this device (everything but the replay window,
    which the caller keeps); CommandRefused with the reason otherwise."""
    cmd = parse_command(data)
    if cmd.key_id in v.revoked:
        raise CommandRefused(
            "revoked_key", f"command signed by revoked key {_echo(cmd.key_id)}", cmd.id
        )
    pub = v.trusted.get(cmd.key_id)
    if pub is None:
        raise CommandRefused(
            "unknown_key",
            f"command signed by unknown key {_echo(cmd.key_id)} (not in [remote] trusted_keys)",
            cmd.id,
        )
    try:
        sig = base64.b64decode(cmd.signature, validate=True)
        pub.verify(sig, cmd.signing_payload())
    except (binascii.Error, ValueError, InvalidSignature):
        raise CommandRefused(
            "bad_signature",
            f"command signature by key {cmd.key_id} does not verify (tampered?)",
            cmd.id,
        ) from None
    now = now or datetime.now(UTC)
    issued, expires = parse_rfc3339(cmd.issued_at), parse_rfc3339(cmd.expires)
    if now >= expires:
        raise CommandRefused("expired", f"command expired at {cmd.expires}", cmd.id)
    if issued - now > timedelta(seconds=v.clock_skew_s):
        raise CommandRefused(
            "not_yet_valid", f"command issued in the future ({cmd.issued_at}; check clocks)", cmd.id
        )
    if (expires - issued).total_seconds() > v.max_validity_s:
        raise CommandRefused(
            "bad_params",
            f"command valid for longer than [remote] max_validity_s ({v.max_validity_s:g} s)",
            cmd.id,
        )
    if not targets_match(cmd.targets, v.device_id, v.device_type):
        raise CommandRefused(
            "not_for_this_device",
            f"command targets {_echo(', '.join(cmd.targets))}, not this device "
            f"({v.device_id}, type:{v.device_type})",
            cmd.id,
        )
    check_params(cmd)
    return cmd


def sign_command(
    key: Ed25519PrivateKey,
    command: str,
    *,
    targets: list[str],
    params: dict[str, Any] | None = None,
    expires_in_s: float = 3600.0,
    command_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A signed command document (the operator side, `edgetui command sign`)."""
    import secrets

    now = now or datetime.now(UTC)
    cmd = Command(
        id=command_id or f"cmd-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}",
        command=command,
        params=dict(params or {}),
        issued_at=format_rfc3339(now),
        expires=format_rfc3339(now + timedelta(seconds=expires_in_s)),
        targets=list(targets),
        key_id=key_id(key),
        signature="",
    )
    cmd.signature = base64.b64encode(key.sign(cmd.signing_payload())).decode()
    return cmd.to_dict()
