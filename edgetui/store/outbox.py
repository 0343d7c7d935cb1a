"""The durable outbox: every message the device sends is first a committed SQLite row.

Guarantees (each tested): `enqueue` returns only after COMMIT (synchronous=FULL, WAL);
every message gets a unique `id` and a per-device `seq` that grows by one per message ever
enqueued (AUTOINCREMENT, so it survives restarts and empty queues); the queue is bounded by
`max_messages` and `max_bytes` with a stated policy (`drop_oldest` drops the oldest row of
the lowest class first, `reject_new` refuses), both counted and logged; rows older than
`ttl_s` expire (counted); a row leaves the queue only when the broker acknowledged it
(`record_acked_blocking`: journaled at once, deleted in bulk by `apply_acked_blocking`),
or by expiry, rollup, a drop, or `export(remove=True)`.

Connections: the writer (FULL, for enqueues and upkeep), a NORMAL one on the event loop
(counters, the oldest row), and the drain's (NORMAL, blocking, from the uplink's thread:
batched reads and the bulk deletes of acknowledged rows; losing one to a power cut only
means duplicates, never a lost message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from edgetui.cancel import cancel_and_wait
from edgetui.config import StoreConfig
from edgetui.models.buffer import OutboxStats, Receipt
from edgetui.models.ids import new_id
from edgetui.store.ack_journal import AckJournal
from edgetui.store.drain import OutboxDrainSide
from edgetui.store.full import OutboxFull, OutboxWhenFull
from edgetui.store.keys import OutboxKeys
from edgetui.store.schema import (
    CHUNK,
    COUNTERS,
    KINDS,
    PRIORITY,
    CorruptDatabase,
    StoreError,
    connect,
    last_seq,
    move_aside,
    open_checked,
    transaction,
)
from edgetui.store.sealed import PayloadCipher, row_aad
from edgetui.store.upkeep import OutboxUpkeep

log = logging.getLogger(__name__)


class Outbox(OutboxDrainSide, OutboxUpkeep, OutboxWhenFull, OutboxKeys):
    """The durable outbox service (name "store"); the uplink drains it."""

    name = "store"

    def __init__(
        self,
        config: StoreConfig,
        path: Path,
        *,
        rollup_after_s: float = 0.0,
        page_limit: int | None = None,
        maintenance_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        cipher: PayloadCipher | None = None,
    ) -> None:
        self.config = config
        # Sealing (edgetui.sealing's OutboxCipher, handed in by the runtime): with a
        # cipher, sealed rows open; with `[store] encrypt` too, new rows are sealed.
        self.cipher = cipher
        self.seal_new = cipher is not None and config.encrypt
        self.path = Path(path)
        self.rollup_after_s = rollup_after_s
        self.page_limit = page_limit  # hard cap on the file, in SQLite pages (tests, tiny disks)
        self.maintenance_s = maintenance_s
        self.clock = clock
        self._db: aiosqlite.Connection | None = None  # writer (FULL)
        self._rdb: aiosqlite.Connection | None = None  # drain reads + acked deletes (NORMAL)
        self._wlock = asyncio.Lock()  # one explicit transaction at a time on the writer
        self._count = [0] * len(KINDS)
        self._bytes = [0] * len(KINDS)
        self._listeners: list[Callable[[int], None]] = []
        self._maint: asyncio.Task[None] | None = None
        self._warned: dict[str, tuple[float, int]] = {}
        self._unsaved_sent = 0
        self._ackdb: sqlite3.Connection | None = None  # the drain thread's connection
        self._ack_lock = threading.Lock()  # the drain connection, journal and set below
        self._journal: AckJournal | None = None
        self._unapplied: set[int] = set()  # journaled as acknowledged, not yet deleted
        self._closing = False
        self.stats = OutboxStats(
            path=str(self.path),
            max_messages=config.max_messages,
            max_bytes=config.max_bytes,
            on_full=config.on_full,
            ttl_s=config.ttl_s,
            encrypt=self.seal_new,
        )
        self._unreadable: dict[int, str] = {}  # seq -> why it cannot be opened (kept)

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Open (or create) the database; a corrupt file is moved aside and replaced."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._closing = False
        try:
            self._db = await open_checked(self.path, page_limit=self.page_limit)
        except CorruptDatabase as exc:
            self.stats.moved_aside = str(move_aside(self.path, str(exc)))
            self._db = await open_checked(self.path, page_limit=self.page_limit)
        try:
            await self.check_keys()  # before anything reads or deletes a row
        except BaseException:
            await self._db.close()
            self._db = None
            raise
        self._rdb = await connect(self.path, synchronous="NORMAL")
        await self._open_journal()
        if self.seal_new:
            await self.seal_clear_rows()
        await self._load()
        self._maint = asyncio.create_task(self._maintenance(), name="outbox-maintenance")

    async def stop(self) -> None:
        await cancel_and_wait(self._maint)
        self._maint = None
        with contextlib.suppress(Exception):
            await self.settle_acked()  # a clean stop leaves an empty journal
        with contextlib.suppress(Exception):
            await self.save_counters()
        await asyncio.to_thread(self._close_drain_side)
        for db in (self._rdb, self._db):
            if db is not None:
                with contextlib.suppress(Exception):
                    await db.close()
        self._db = self._rdb = None

    def _close_drain_side(self) -> None:
        """Blocking: waits for a drain-thread call in progress."""
        with self._ack_lock:
            self._closing = True
            if self._ackdb is not None:
                self._ackdb.close()
                self._ackdb = None
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    async def _load(self) -> None:
        assert self._db is not None
        self._count = [0] * len(KINDS)
        self._bytes = [0] * len(KINDS)
        rows = await self._db.execute_fetchall(
            "SELECT prio, COUNT(*), COALESCE(SUM(size), 0) FROM outbox GROUP BY prio"
        )
        for prio, n, b in rows:
            self._count[prio], self._bytes[prio] = n, b
        for key, value in await self._db.execute_fetchall("SELECT key, value FROM outbox_meta"):
            if key in COUNTERS:
                setattr(self.stats, key, value)
        self.stats.last_seq = await last_seq(self._db)
        self.sync_key_stats()
        self._sync_stats()
        await self.refresh_oldest()

    def _sync_stats(self) -> None:
        s = self.stats
        s.queued, s.queued_bytes = sum(self._count), sum(self._bytes)
        s.by_class = {k: self._count[i] for i, k in enumerate(KINDS)}

    def _account(self, removed: Iterable[tuple[int, int]]) -> int:
        n = 0
        for prio, size in removed:
            self._count[prio] -= 1
            self._bytes[prio] -= size
            n += 1
        self._sync_stats()
        return n

    def add_listener(self, fn: Callable[[int], None]) -> None:
        """Call `fn(prio)` after each committed insert (prio of the highest class added)."""
        self._listeners.append(fn)

    def _warn(self, key: str, message: str, *args: Any) -> None:
        """Log a warning at most every 10 s per key, saying how many were folded."""
        now = time.monotonic()
        last, folded = self._warned.get(key, (-1e9, 0))
        if now - last < 10.0:
            self._warned[key] = (last, folded + 1)
            return
        self._warned[key] = (now, 0)
        suffix = f" (and {folded} more like it in the last 10 s)" if folded else ""
        log.warning(message + suffix, *args)

    # -- enqueue ----------------------------------------------------------------------
    @staticmethod
    def _encode(kind: str, payload: dict[str, Any]) -> tuple[str, int, str, str, int]:
        if kind not in PRIORITY:
            raise StoreError(f"unknown message kind {kind!r} (expected one of {', '.join(KINDS)})")
        if not isinstance(payload, dict):
            raise StoreError(f"{kind} payload must be a JSON object, got {type(payload).__name__}")
        body = dict(payload)
        body.pop("seq", None)
        oid = body.pop("id", None)
        # A payload that brings its own id (a CloudEvent) keeps it: the receiver can match.
        if not isinstance(oid, str) or not 0 < len(oid) <= 200:
            oid = new_id()
        try:
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{kind} payload is not JSON-serialisable: {exc}") from None
        return kind, PRIORITY[kind], oid, text, len(text.encode())

    async def enqueue(self, kind: str, payload: dict[str, Any]) -> Receipt:
        """Queue one message; returns once committed. Raises StoreError / OutboxFull."""
        return (await self._insert([self._encode(kind, payload)]))[0]

    async def enqueue_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[Receipt]:
        """Queue several messages in one transaction (one fsync); all or none."""
        encoded = [self._encode(k, p) for k, p in items]
        return await self._insert(encoded) if encoded else []

    async def _insert(self, items: list[tuple[str, int, str, str, int]]) -> list[Receipt]:
        db = self._require()
        for kind, _, _, _, size in items:
            if size > self.config.max_bytes:
                self.stats.rejected += 1
                raise OutboxFull(
                    f"{kind} message of {size} bytes is larger than [store] max_bytes "
                    f"({self.config.max_bytes})"
                )
        if self._unapplied and max(self._over(items)) > 0:
            try:  # acknowledged rows make room before a policy applies
                await self.settle_acked()
            except sqlite3.Error as exc:
                self._warn("settle", "outbox: cannot remove acknowledged messages yet: %s", exc)
        now = self.clock()
        async with self._wlock:
            over_n, over_b = self._over(items)
            try:
                if over_n <= 0 and over_b <= 0 and len(items) == 1 and not self.seal_new:
                    receipts = [await self._insert_one(db, items[0], now)]
                else:
                    receipts = await self._insert_txn(db, items, now, over_n, over_b)
            except sqlite3.Error as exc:
                raise self._store_error(exc, items) from None
        for _, prio, _, _, size in items:
            self._count[prio] += 1
            self._bytes[prio] += size
        self.stats.last_seq = receipts[-1].seq
        if self.stats.oldest_created is None:
            self.stats.oldest_created = now
        self._sync_stats()
        top = min(i[1] for i in items)
        for fn in self._listeners:
            fn(top)
        return receipts

    def _over(self, items: list[tuple[str, int, str, str, int]]) -> tuple[int, int]:
        """How far `items` would take the queue past its bounds: (messages, bytes)."""
        return (
            sum(self._count) + len(items) - self.config.max_messages,
            sum(self._bytes) + sum(i[4] for i in items) - self.config.max_bytes,
        )

    async def _insert_one(
        self, db: aiosqlite.Connection, item: tuple[str, int, str, str, int], now: float
    ) -> Receipt:
        kind, prio, oid, text, size = item
        sql = "INSERT INTO outbox (id, kind, prio, created, size, payload) VALUES (?,?,?,?,?,?)"
        try:  # autocommit: one statement is one committed transaction
            cur = await db.execute(sql, (oid, kind, prio, now, size, text))
        except sqlite3.IntegrityError:  # the payload's own id is already queued
            oid = new_id()
            cur = await db.execute(sql, (oid, kind, prio, now, size, text))
        assert cur.lastrowid is not None
        return Receipt(oid, cur.lastrowid)

    async def _insert_txn(
        self,
        db: aiosqlite.Connection,
        items: list[tuple[str, int, str, str, int]],
        now: float,
        over_n: int,
        over_b: int,
    ) -> list[Receipt]:
        removed: list[tuple[int, int]] = []
        async with transaction(db):
            if over_n > 0 or over_b > 0:
                removed = await self._make_room(db, items, over_n, over_b)
            ids = [i[2] for i in items]
            taken: set[str] = set()
            for k in range(0, len(ids), CHUNK):
                part = ids[k : k + CHUNK]
                marks = ",".join("?" * len(part))
                rows = await db.execute_fetchall(
                    f"SELECT id FROM outbox WHERE id IN ({marks})", part
                )
                taken.update(r[0] for r in rows)
            seen: set[str] = set()
            fixed: list[tuple[Any, ...]] = []
            for kind, prio, oid, text, size in items:
                if oid in taken or oid in seen:
                    oid = new_id()
                seen.add(oid)
                fixed.append((oid, kind, prio, now, size, text))
            ids = [f[0] for f in fixed]
            if self.seal_new:
                # The seq is part of the sealed row's associated data, so it is given
                # here (the write lock is held: nobody else inserts) rather than by SQLite.
                last = await last_seq(db)
                fixed = self._sealed(fixed, last + 1)
                await db.executemany(
                    "INSERT INTO outbox (seq, id, kind, prio, created, size, payload) "
                    "VALUES (?,?,?,?,?,?,?)",
                    fixed,
                )
                last += len(fixed)
            else:
                await db.executemany(
                    "INSERT INTO outbox (id, kind, prio, created, size, payload) "
                    "VALUES (?,?,?,?,?,?)",
                    fixed,
                )
                last = await last_seq(db)
        if removed:
            self._account(removed)
            self.stats.dropped += len(removed)
            self._warn(
                "dropped",
                "outbox full: dropped %d oldest message(s) of the lowest class "
                "(on_full=drop_oldest, bounds %d messages / %d bytes)",
                len(removed),
                self.config.max_messages,
                self.config.max_bytes,
            )
        first = last - len(fixed) + 1
        return [Receipt(oid, first + i) for i, oid in enumerate(ids)]

    def _sealed(self, rows: list[tuple[Any, ...]], first: int) -> list[tuple[Any, ...]]:
        """(id, kind, prio, created, size, text) rows as (seq, ..., sealed payload)."""
        assert self.cipher is not None
        seqs = range(first, first + len(rows))
        blobs = self.cipher.seal_many(
            [row[5].encode() for row in rows],
            [row_aad(seq, row[1], row[3], row[0]) for seq, row in zip(seqs, rows, strict=True)],
        )
        return [
            (seq, oid, kind, prio, created, size, blob)
            for seq, (oid, kind, prio, created, size, _), blob in zip(
                seqs, rows, blobs, strict=True
            )
        ]

    def _require(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("outbox is not open")
        return self._db

    def queued(self) -> int:
        return sum(self._count)
