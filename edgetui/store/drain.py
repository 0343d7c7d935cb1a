"""The outbox's drain side (a mixin of `edgetui.store.Outbox`): batched reads in drain
order, and acknowledged rows journaled at once (`ack_journal.py`) and deleted in bulk later;
used from the uplink's drain thread (blocking) and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Any

from edgetui.faults import fault_point
from edgetui.models.buffer import OutboxRow
from edgetui.store.ack_journal import AckJournal, journal_path, read_journal
from edgetui.store.schema import CHUNK, bump, delete_in, instance_of, transaction

log = logging.getLogger("edgetui.store")

# The wire form is built by SQLite (json_quote escapes the id), not row by row in Python:
# the payload object with `id` and `seq` in front, as bytes.
_WIRE = (
    """CAST('{"id":' || json_quote(id) || ',"seq":' || seq ||"""
    """ CASE WHEN payload = '{}' THEN '}' ELSE ',' || substr(payload, 2) END AS BLOB)"""
)
# A sealed row (a BLOB payload) comes out as it is, flagged, and is opened in Python
# (`keys.OutboxKeys.open_rows`).
_COLUMNS = (
    "seq, id, kind, prio, created, size, "
    f"CASE WHEN typeof(payload) = 'blob' THEN payload ELSE {_WIRE} END AS wire, "
    "typeof(payload) = 'blob' AS sealed"
)
# Drain order after a cursor (prio, seq): the rest of that class, then the classes below,
# each an index seek (a row-value `(prio, seq) > (?, ?)` seeks on prio alone and steps
# over the class's earlier rows on every batch).
_FETCH_CLASS = f"SELECT {_COLUMNS} FROM outbox WHERE prio = ? AND seq > ? ORDER BY seq LIMIT ?"
_FETCH_BELOW = f"SELECT {_COLUMNS} FROM outbox WHERE prio > ? ORDER BY prio, seq LIMIT ?"


class OutboxDrainSide:
    """Reads and acknowledged deletes; the figures live in the Outbox.

    Between its journal write and the bulk delete an acknowledged row is still in the table
    (for a few milliseconds while a backlog drains): the drain skips it, and expiry, drops,
    rollups and exports apply the journal first (`settle_acked`)."""

    # -- drain side -------------------------------------------------------------------
    async def fetch(
        self, limit: int, after: tuple[int, int] = (-1, 0), *, keep_sealed: bool = False
    ) -> list[OutboxRow]:
        """Up to `limit` rows in drain order (class, then seq) strictly after `after`
        (sealed rows opened, unless `keep_sealed`; rows that cannot be opened skipped)."""
        if self._db is None:
            return []
        return await asyncio.to_thread(self.fetch_blocking, limit, after, keep_sealed)

    async def delete(self, seqs: list[int]) -> int:
        """Remove acknowledged rows at once; returns how many were still queued."""
        if not seqs or self._rdb is None:
            return 0
        return self.account_sent(await delete_in(self._rdb, seqs))

    async def _open_journal(self) -> None:  # at start, on the writer, before the drain
        """Delete the rows an earlier run journaled as acknowledged (booked as sent), then
        start a fresh journal. Rows that cannot be deleted yet (a full disk) stay journaled
        and skipped; without a journal at all, acknowledged rows are deleted one batch at a
        time (slower, just as safe)."""
        db = self._require()
        path = journal_path(self.path)
        instance = await instance_of(db)
        left = await asyncio.to_thread(read_journal, path, instance)
        if left:
            try:
                async with transaction(db):
                    n = len(await delete_in(db, left))
                    await bump(db, "sent", n)
            except sqlite3.Error as exc:
                log.warning("outbox: cannot remove acknowledged messages yet: %s", exc)
            else:
                left = []
                if n:  # only after an unclean stop: a clean one applies the journal
                    log.warning(
                        "outbox: removed %d message(s) acknowledged before the last stop", n
                    )
        journal = AckJournal(path, instance)
        try:
            await asyncio.to_thread(journal.open, left)
        except OSError as exc:
            log.warning(
                "outbox: no acknowledgement journal (%s): acknowledged messages are deleted "
                "batch by batch",
                exc,
            )
            journal.close()
            self._journal = None
        else:
            self._journal = journal
        self._unapplied = set(left)

    def _ack_conn(self) -> sqlite3.Connection:
        if self._closing:  # a drain thread that outlived the stop must not reopen it
            raise sqlite3.OperationalError("the outbox is closed")
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

    def fetch_blocking(
        self, limit: int, after: tuple[int, int] = (-1, 0), keep_sealed: bool = False
    ) -> list[OutboxRow]:
        """`fetch`, blocking, on the drain thread's connection."""
        with self._ack_lock:
            raw = self._fetch_locked(limit, after)
        return self.open_rows(raw, keep_sealed=keep_sealed)

    def _fetch_locked(self, limit: int, after: tuple[int, int]) -> list[tuple[Any, ...]]:
        prio, seq = after
        db = self._ack_conn()
        rows = db.execute(_FETCH_CLASS, (prio, seq, limit)).fetchall() if prio >= 0 else []
        if len(rows) < limit:
            rows += db.execute(_FETCH_BELOW, (prio, limit - len(rows))).fetchall()
        return rows

    def fetch_unsent_blocking(
        self, limit: int, after: tuple[int, int]
    ) -> tuple[list[OutboxRow], tuple[int, int] | None, bool]:
        """For the drain thread: the rows after `after` not journaled as acknowledged (in
        one step with the read, so a bulk delete in between cannot bring one back), the
        cursor past the rows read (None: nothing left), and whether the batch was full."""
        with self._ack_lock:
            rows = self._fetch_locked(limit, after)
            unsent = [r for r in rows if r[0] not in self._unapplied]
        last = (rows[-1][3], rows[-1][0]) if rows else None
        # Opened outside the lock: the PUBACK path does not wait for the decryption.
        return self.open_rows(unsent), last, len(rows) == limit

    def is_acked(self, seq: int) -> bool:
        """Journaled as acknowledged, not yet deleted (never to be sent again)."""
        return seq in self._unapplied

    def record_acked_blocking(self, seqs: list[int]) -> list[tuple[int, int]]:
        """Journal acknowledged rows (drain thread; one write). If the journal cannot be
        written, they are deleted at once instead; returns (prio, size) of rows deleted
        now, for the caller to book (normally none: `apply_acked_blocking` deletes). Raises
        if neither works: the rows then count as unacknowledged (sent again later)."""
        with self._ack_lock:
            try:
                if self._journal is None:
                    raise OSError("no acknowledgement journal")
                self._journal.append(seqs)
            except OSError as exc:
                if self._journal is not None:
                    self._warn("journal", "outbox: cannot journal acknowledgements (%s)", exc)
                self._unapplied.update(seqs)
            else:
                self._unapplied.update(seqs)
                return []
        try:
            return self.apply_acked_blocking()
        except BaseException:
            with self._ack_lock:
                self._unapplied.difference_update(seqs)
            raise

    def apply_acked_blocking(self) -> list[tuple[int, int]]:
        """Delete the journaled rows in one transaction (blocking); returns (prio, size) of
        those still queued (an expiry or a drop may have taken one first), to book with
        `account_sent` on the event loop."""
        removed: list[tuple[int, int]] = []
        with self._ack_lock:
            if not self._unapplied:
                return removed
            seqs = sorted(self._unapplied)
            db = self._ack_conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                for k in range(0, len(seqs), CHUNK):
                    part = seqs[k : k + CHUNK]
                    marks = ",".join("?" * len(part))
                    removed += db.execute(
                        f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING prio, size", part
                    ).fetchall()  # fetchall: each statement runs to its end
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            fault_point("store.after_ack_delete")  # journal still full: replayed, no harm
            self._unapplied.clear()
            if self._journal is not None:
                try:
                    self._journal.reset()
                except OSError as exc:  # the seqs name deleted rows: harmless at a restart
                    self._warn("journal", "outbox: cannot reset the journal (%s)", exc)
        return removed

    async def settle_acked(self) -> None:
        """Apply the journal now and book its rows (on the event loop, before anything
        else takes rows out of the queue). Booked even if the caller is cancelled: the
        thread deletes the rows regardless."""
        if not self._unapplied:
            return
        work = asyncio.ensure_future(asyncio.to_thread(self.apply_acked_blocking))
        work.add_done_callback(self._book_applied)
        await asyncio.shield(work)

    def _book_applied(self, work: asyncio.Future[list[tuple[int, int]]]) -> None:
        if not work.cancelled() and work.exception() is None:
            self.account_sent(work.result())

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
