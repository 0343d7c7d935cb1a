"""The outbox's drain side (a mixin of `edgetui.store.Outbox`): batched reads in drain
order, acknowledged rows recorded in `outbox_acked` and later deleted in bulk; used from
the uplink's drain thread (blocking) and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from edgetui.models.buffer import OutboxRow
from edgetui.store_schema import COMPACT, LIVE, delete_in, transaction

log = logging.getLogger("edgetui.store")

# The wire form is built by SQLite (json_quote escapes the id), not row by row in Python:
# the payload object with `id` and `seq` in front, as bytes.
_WIRE = (
    """CAST('{"id":' || json_quote(id) || ',"seq":' || seq ||"""
    """ CASE WHEN payload = '{}' THEN '}' ELSE ',' || substr(payload, 2) END AS BLOB)"""
)
_COLUMNS = f"seq, id, kind, prio, created, size, {_WIRE} AS wire"
# Drain order after a cursor (prio, seq): the rest of that class, then the classes below,
# each an index seek (a row-value `(prio, seq) > (?, ?)` seeks on prio alone and steps
# over the class's earlier rows on every batch).
_FETCH_CLASS = (
    f"SELECT {_COLUMNS} FROM outbox WHERE prio = ? AND seq > ? AND {LIVE} ORDER BY seq LIMIT ?"
)
_FETCH_BELOW = f"SELECT {_COLUMNS} FROM outbox WHERE prio > ? AND {LIVE} ORDER BY prio, seq LIMIT ?"


def _row(r: Iterable[Any]) -> OutboxRow:
    return OutboxRow(*r)


class OutboxDrainSide:
    """Reads and acknowledged deletes; the figures live in the Outbox."""

    # -- drain side -------------------------------------------------------------------
    async def fetch(self, limit: int, after: tuple[int, int] = (-1, 0)) -> list[OutboxRow]:
        """Up to `limit` rows in drain order (class, then seq) strictly after `after`."""
        if self._db is None:
            return []
        return await asyncio.to_thread(self.fetch_blocking, limit, after)

    async def delete(self, seqs: list[int]) -> int:
        """Remove acknowledged rows at once; returns how many were still queued."""
        if not seqs or self._rdb is None:
            return 0
        return self.account_sent(await delete_in(self._rdb, seqs))

    async def _compact_leftovers(self) -> None:  # at start, on the writer
        """Rows acknowledged before a stop or a crash, not yet compacted, leave now."""
        try:
            async with transaction(self._require()) as db:
                n = (await db.execute(COMPACT[0])).rowcount
                await db.execute(COMPACT[1])
        except sqlite3.Error as exc:  # a full disk, say: they stay marked, and skipped
            log.warning("outbox: cannot remove acknowledged messages yet: %s", exc)
            return
        if n > 0:
            log.warning(  # only after an unclean stop: a clean one compacts
                "outbox: removed %d message(s) acknowledged before the last stop", n
            )

    def _ack_conn(self) -> sqlite3.Connection:
        if self._ackdb is None:
            self._ackdb = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._ackdb.execute("PRAGMA synchronous=NORMAL")
            # Sent rows need not be overwritten with zeros (Debian builds SQLite with
            # secure_delete on): it only costs writes on the hot path.
            self._ackdb.execute("PRAGMA secure_delete=OFF")
            # Checkpoints (copying the WAL back, with an fsync) are left to the other
            # connections' commits, off the drain thread: the upkeep loop commits at
            # least once a second while messages are being sent.
            self._ackdb.execute("PRAGMA wal_autocheckpoint=0")
        return self._ackdb

    def fetch_blocking(self, limit: int, after: tuple[int, int] = (-1, 0)) -> list[OutboxRow]:
        """`fetch` for the uplink's drain thread (its own connection; blocking)."""
        prio, seq = after
        with self._ack_lock:
            db = self._ack_conn()
            rows = db.execute(_FETCH_CLASS, (prio, seq, limit)).fetchall() if prio >= 0 else []
            if len(rows) < limit:
                rows += db.execute(_FETCH_BELOW, (prio, limit - len(rows))).fetchall()
        return [_row(r) for r in rows]

    def mark_acked_blocking(self, seqs: list[int]) -> list[int]:
        """Record acknowledged rows from the drain thread, in one transaction (NORMAL sync:
        losing it to a power cut means duplicates, never a loss). Returns the seqs that
        were still queued; the caller books them with `account_sent` on the event loop.
        The rows leave the queue at once (every query skips them) and the table at the
        next `compact_acked_blocking`."""
        out: list[int] = []
        with self._ack_lock:
            db = self._ack_conn()
            for k in range(0, len(seqs), 500):
                part = seqs[k : k + 500]
                marks = ",".join("?" * len(part))
                out += [
                    r[0]
                    for r in db.execute(
                        f"INSERT OR IGNORE INTO outbox_acked (seq) SELECT seq FROM outbox "
                        f"WHERE seq IN ({marks}) RETURNING seq",
                        part,
                    ).fetchall()  # fetchall: the statement completes, so it commits
                ]
        return out

    def compact_acked_blocking(self) -> int:
        """Delete acknowledged rows from the table, in bulk (drain thread); returns how many."""
        with self._ack_lock:
            db = self._ack_conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                n = db.execute(COMPACT[0]).rowcount
                db.execute(COMPACT[1])
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        return n

    def account_sent(self, removed: list[tuple[int, int]]) -> int:
        """Book rows deleted after their acknowledgement (on the event loop)."""
        n = self._account(removed)
        # The "sent" counter is persisted by the upkeep loop, not per batch: one write less
        # on the hot path; a crash loses at most a second of this figure, never a message.
        self.stats.sent += n
        self._unsaved_sent += n
        if not sum(self._count):
            self.stats.oldest_created = None
        return n
