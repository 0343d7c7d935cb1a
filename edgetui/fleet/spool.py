"""The ingest's spool: messages the fleet store refused, kept on local disk until the store
takes them.

The broker has the PUBACK of every message the ingest holds, so a message held only in
memory while the store is down (PostgreSQL stopped, a SQLite disk full or locked) dies with
the process. The spool is a small SQLite file in the fleet state directory (`fleet-spool.db`)
written with `synchronous=FULL`: once `append` returns, the messages survive a SIGKILL or a
power cut. It holds the raw messages (topic, payload, receive time), not parsed updates, so a
newer edgetui replays what an older one spooled.

Replay is at least once: a crash between the store's commit and the spool's delete writes
those messages again, which the store's writes absorb (ordered by the device's times; an
audit record with the same receive time is skipped).

Bounded in bytes (topic + payload + a fixed overhead per message): past `max_bytes` the
oldest messages are dropped and counted, as the device outbox's `drop_oldest` does (the
newest state of a device is worth more than an old one). Several fleet processes may share
one state directory, hence one spool: SQLite serializes them, and a chunk two of them
replay at once is written twice, harmlessly.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

Message = tuple[str, bytes, float]  # topic, payload, when this fleet process received it

OVERHEAD = 32  # bytes counted per message beside topic and payload (row, id, time)
FILENAME = "fleet-spool.db"


class SpoolError(Exception):
    """The spool file cannot be opened or written (one line naming it)."""


class Spool:
    """An append-only queue of messages on disk, oldest first (one writer thread at a time
    in this process; other processes may share the file)."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.messages = 0  # in the spool now
        self.bytes = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk when it returns (NORMAL could lose the last ones
            # at a power cut, and these messages exist nowhere else).
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "topic TEXT NOT NULL, payload BLOB NOT NULL, received REAL NOT NULL, "
                "size INTEGER NOT NULL)"
            )
            self._count()
        except (sqlite3.Error, OSError) as exc:
            raise SpoolError(f"ingest spool {self.path}: {exc}") from None

    def _count(self) -> None:
        n, size = self._db.execute("SELECT COUNT(*), TOTAL(size) FROM spool").fetchone()
        self.messages, self.bytes = int(n), int(size)

    def append(self, items: list[Message]) -> int:
        """Append `items` durably; returns how many messages (the oldest in the spool,
        possibly some of `items`) were dropped to stay within `max_bytes`. Raises
        SpoolError when the file cannot be written (the disk is full, say)."""
        if not items:
            return 0
        rows = [(t, p, r, len(t) + len(p) + OVERHEAD) for t, p, r in items]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(
                        "INSERT INTO spool (topic, payload, received, size) VALUES (?, ?, ?, ?)",
                        rows,
                    )
                    dropped = self._trim()
                    self._db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
                self._count()
            except sqlite3.Error as exc:
                raise SpoolError(f"ingest spool {self.path}: {exc}") from None
        return dropped

    def _trim(self) -> int:
        """Inside append's transaction: drop the oldest messages past `max_bytes`."""
        (total,) = self._db.execute("SELECT TOTAL(size) FROM spool").fetchone()
        over = int(total) - self.max_bytes
        if over <= 0:
            return 0
        # the first id at which the running size from the oldest reaches `over`
        row = self._db.execute(
            "SELECT id FROM (SELECT id, SUM(size) OVER (ORDER BY id) AS run FROM spool) "
            "WHERE run >= ? ORDER BY id LIMIT 1",
            (over,),
        ).fetchone()
        return self._db.execute("DELETE FROM spool WHERE id <= ?", (row[0],)).rowcount

    def oldest(self, limit: int) -> tuple[int, list[Message]]:
        """Up to `limit` of the oldest messages, and the id of the last one (for `delete`);
        (0, []) when the spool is empty."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT id, topic, payload, received FROM spool ORDER BY id LIMIT ?",
                    (limit,),
                ).fetchall()
            except sqlite3.Error as exc:
                raise SpoolError(f"ingest spool {self.path}: {exc}") from None
        if not rows:
            return 0, []
        return rows[-1][0], [(t, bytes(p), r) for _, t, p, r in rows]

    def delete(self, upto: int) -> None:
        """Forget every message up to id `upto` (the store has them)."""
        with self._lock:
            try:
                self._db.execute("DELETE FROM spool WHERE id <= ?", (upto,))
                self._count()
            except sqlite3.Error as exc:
                raise SpoolError(f"ingest spool {self.path}: {exc}") from None

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
