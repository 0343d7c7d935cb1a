"""Helpers for the security tests: a small audit log made by the real writer."""

from __future__ import annotations

import json
from pathlib import Path

from edgetui.security.audit import AuditLog
from edgetui.security.device_key import DeviceKey

WHO = {"uid": 0, "user": "root", "role": "admin", "via": "cli", "pid": 1}


def make_log(tmp_path: Path, n: int = 5, *, sign: bool = True) -> tuple[AuditLog, DeviceKey]:
    """A log of `n` records (buffer.flush with timeout i) and, with `sign`, a signed head."""
    key = DeviceKey.load_or_create(tmp_path / "keys")
    log = AuditLog(tmp_path / "audit" / "audit.log", key=key, device_id="test-device")
    log.open()
    for i in range(n):
        log.append(WHO, {"method": "buffer.flush", "params": {"timeout": i}}, {"ok": True})
    if sign:
        log.sign_head()
    return log, key


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, rows: list[bytes]) -> None:
    path.write_bytes(b"".join(rows))


def edit_record(raw: bytes, **changes: object) -> bytes:
    rec = json.loads(raw)
    rec.update(changes)
    return json.dumps(rec, sort_keys=True, separators=(",", ":")).encode() + b"\n"
