"""The device database: opening it in WAL mode, the outbox schema, and moving a corrupt
file aside so the device keeps running with a fresh one.

One SQLite file per device holds the outbox and may hold other runtime state; each part
keeps to its own tables (this module creates only `outbox` and `outbox_meta`).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from edgetui.models.vocabulary import Topic
from edgetui.store.ack_journal import SUFFIX as JOURNAL_SUFFIX

log = logging.getLogger(__name__)

# Priority classes, highest first: a lower number drains first and is dropped last.
# `result`: the states of signed remote commands (devices/<id>/commands/result). `audit`
# comes after the others: the audit trail in the state directory is the record, its uplink copy
# a replica. `retrain` (opt-in samples of the llm agent's inputs, `[retrain]`) is the lowest:
# training data for a later model, the first to go when the queue is full. New classes go at
# the end, so the class numbers of rows already queued keep their meaning.
KINDS = ("alert", "result", "event", "telemetry", "log", "audit", "retrain")
PRIORITY = {kind: i for i, kind in enumerate(KINDS)}
TOPIC_SUFFIX = {
    "alert": Topic.ALERTS,
    "result": Topic.COMMAND_RESULT,
    "event": Topic.EVENTS,
    "telemetry": Topic.TELEMETRY,
    "log": Topic.LOGS,
    "audit": Topic.AUDIT,
    "retrain": Topic.RETRAIN,
}
# A row's class is stored as its kind and its prio; when a class is added, the prio of the
# rows already queued is set again from their kind (a no-op when nothing changed).
_REPRIORITISE = (
    "UPDATE outbox SET prio = CASE kind "
    + " ".join(f"WHEN '{k}' THEN {i}" for k, i in PRIORITY.items())
    + " ELSE prio END WHERE prio != CASE kind "
    + " ".join(f"WHEN '{k}' THEN {i}" for k, i in PRIORITY.items())
    + " ELSE prio END"
)

SCHEMA_VERSION = 3  # 2: outbox_acked; 3: acknowledgements journaled (ack_journal.py)
# AUTOINCREMENT: a seq is never reused, even after every row was sent and deleted, and a
# rolled-back insert does not leave a gap (sqlite_sequence rolls back with it).
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT    NOT NULL UNIQUE,
    kind    TEXT    NOT NULL,
    prio    INTEGER NOT NULL,
    created REAL    NOT NULL,
    size    INTEGER NOT NULL,
    payload TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_prio_seq ON outbox (prio, seq);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created);
CREATE TABLE IF NOT EXISTS outbox_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
CHUNK = 500  # rows per IN (...) list
COUNTERS = ("dropped", "rejected", "expired", "rolled_up", "rollups", "sent")


class StoreError(Exception):
    """The outbox could not take a message (disk full, write failure, ...); the message
    says why in one line. Callers log it and keep going."""


class CorruptDatabase(Exception):
    """The file exists but SQLite cannot use it."""


async def connect(
    path: Path, *, synchronous: str, page_limit: int | None = None
) -> aiosqlite.Connection:
    """An autocommit connection in WAL mode (transactions are explicit BEGIN IMMEDIATE)."""
    db = await aiosqlite.connect(str(path), isolation_level=None, timeout=30.0)
    try:
        mode = (await (await db.execute("PRAGMA journal_mode=WAL")).fetchone())[0]
        if str(mode).lower() != "wal":
            raise CorruptDatabase(f"cannot switch to WAL mode (journal_mode={mode})")
        await db.execute(f"PRAGMA synchronous={synchronous}")
        await db.execute("PRAGMA busy_timeout=30000")
        if page_limit:
            await db.execute(f"PRAGMA max_page_count={int(page_limit)}")
    except BaseException:
        await db.close()
        raise
    return db


async def open_checked(path: Path, *, page_limit: int | None = None) -> aiosqlite.Connection:
    """Open the writer connection, check the file and create the schema.

    Raises CorruptDatabase when the file is not a usable SQLite database, StoreError when
    it cannot be written to just now (a full disk).
    """
    try:
        db = await connect(path, synchronous="FULL", page_limit=page_limit)
    except sqlite3.DatabaseError as exc:
        raise CorruptDatabase(str(exc)) from None
    try:
        rows = await (await db.execute("PRAGMA quick_check")).fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
        if problems:
            raise CorruptDatabase("integrity check failed: " + "; ".join(problems[:3]))
        await db.executescript(SCHEMA)
        await _retire_acked_table(db)
        await db.execute(_REPRIORITISE)
        # Written only when it changes: opening a database on a full disk must not fail.
        version = (await db.execute_fetchall("PRAGMA user_version"))[0][0]
        if version != SCHEMA_VERSION:
            await db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        for name in COUNTERS:
            await db.execute(
                "INSERT OR IGNORE INTO outbox_meta (key, value) VALUES (?, 0)", (name,)
            )
        # Names this database for its acknowledgement journal (a replaced database must
        # not take the old one's seqs).
        await db.execute(
            "INSERT OR IGNORE INTO outbox_meta (key, value) VALUES ('instance', ?)",
            (secrets.randbits(62) + 1,),
        )
    except sqlite3.OperationalError as exc:
        # A full disk, a lock, an I/O error: the file is not to blame, keep it in place.
        await db.close()
        raise StoreError(f"cannot prepare the outbox database {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        await db.close()
        raise CorruptDatabase(str(exc)) from None
    except BaseException:
        await db.close()
        raise
    return db


async def _retire_acked_table(db: aiosqlite.Connection) -> None:
    """Schema 2 marked acknowledged rows in a table `outbox_acked`; they leave now, and the
    table goes (schema 3 journals acknowledgements in a file instead)."""
    found = await db.execute_fetchall(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox_acked'"
    )
    if not found:
        return
    async with transaction(db):
        cur = await db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox_acked)")
        await db.execute("DROP TABLE outbox_acked")
    if cur.rowcount > 0:
        log.warning("outbox: removed %d message(s) acknowledged before the last stop", cur.rowcount)


async def instance_of(db: aiosqlite.Connection) -> int:
    rows = await db.execute_fetchall("SELECT value FROM outbox_meta WHERE key = 'instance'")
    return int(rows[0][0]) if rows else 0


def move_aside(path: Path, reason: str) -> Path:
    """Rename a corrupt database (and its -wal/-shm/-acks) to `<name>.corrupt-<UTC time>`; kept,
    never deleted, so a technician can still look at it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm", JOURNAL_SUFFIX):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    log.error(
        "outbox database %s is corrupt (%s): moved aside to %s; starting a fresh outbox",
        path,
        reason,
        target,
    )
    return target


async def delete_in(db: aiosqlite.Connection, seqs: list[int]) -> list[tuple[int, int]]:
    """Delete queued rows by seq; returns (prio, size) of those that were still queued."""
    removed: list[tuple[int, int]] = []
    for k in range(0, len(seqs), CHUNK):
        part = seqs[k : k + CHUNK]
        marks = ",".join("?" * len(part))
        rows = await db.execute_fetchall(
            f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING prio, size", part
        )
        removed.extend((r[0], r[1]) for r in rows)
    return removed


async def last_seq(db: aiosqlite.Connection) -> int:
    """The highest seq ever given out (0 before the first message)."""
    rows = await db.execute_fetchall("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
    return rows[0][0] if rows else 0


@contextlib.asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE (the write lock up front) … COMMIT; ROLLBACK and re-raise on any
    error. A body may COMMIT early itself (to keep a counter) and then raise."""
    try:
        # Inside the try: a task cancelled while BEGIN runs (on aiosqlite's thread, where
        # it completes regardless) must still roll back, or the write lock stays taken.
        await db.execute("BEGIN IMMEDIATE")
        yield db
        await db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            await db.execute("ROLLBACK")
        raise


async def bump(db: aiosqlite.Connection, key: str, n: int) -> None:
    """Add `n` to a persisted counter (inside the caller's transaction, if any)."""
    if n:
        await db.execute("UPDATE outbox_meta SET value = value + ? WHERE key = ?", (n, key))
