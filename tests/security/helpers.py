"""Shared bits for the security tests: a sealed outbox on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from edgetui.config import StoreConfig
from edgetui.security import DataKeyring, OutboxCipher
from edgetui.store import Outbox

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
