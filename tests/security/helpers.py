"""Shared bits for the security tests: a small audit log made by the real writer, and a
sealed outbox on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from edgetui.audit.device_key import DeviceKey
from edgetui.audit.log import AuditLog
from edgetui.config import StoreConfig
from edgetui.sealing import DataKeyring, OutboxCipher
from edgetui.store import Outbox

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


MARKER = "PLAINTEXT-MARKER-7f3a"


def cipher_at(key_file: Path) -> OutboxCipher:
    ring, _ = DataKeyring.open_or_create(key_file)
    return OutboxCipher(ring)


async def sealed_outbox(
    db: Path, key_file: Path | None, *, encrypt: bool = True, **kw: Any
) -> Outbox:
    cipher = cipher_at(key_file) if key_file is not None else None
    ob = Outbox(StoreConfig(encrypt=encrypt, **kw), db, maintenance_s=3600, cipher=cipher)
    await ob.start()
    return ob


def table(db: Path) -> list[tuple[int, str, str]]:
    """(seq, kind, typeof(payload)) of every row, straight from SQLite."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT seq, kind, typeof(payload) FROM outbox ORDER BY seq").fetchall()
    finally:
        con.close()


def on_disk(db: Path) -> bytes:
    """The database file and its WAL, as bytes."""
    data = b""
    for p in (db, db.with_name(db.name + "-wal")):
        if p.exists():
            data += p.read_bytes()
    return data
