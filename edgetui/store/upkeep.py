"""Outbox upkeep: TTL expiry, hourly rollup of old telemetry, NDJSON export and the
periodic maintenance loop (a mixin of `edgetui.store.Outbox`)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from edgetui.models.buffer import OutboxRow
from edgetui.store.export import export_rows
from edgetui.store.rollup import plan_rollups
from edgetui.store.schema import PRIORITY, StoreError, bump, delete_in, last_seq, transaction

log = logging.getLogger("edgetui.store")


class OutboxUpkeep:
    """Rows leaving the queue for reasons other than an acknowledgement."""

    async def save_counters(self) -> None:
        """Persist the acknowledged-message counter (kept off the per-ack path)."""
        n, self._unsaved_sent = self._unsaved_sent, 0
        if n and self._rdb is not None:
            await bump(self._rdb, "sent", n)

    async def refresh_oldest(self) -> None:
        if self._rdb is None and self._db is None:
            return
        db = self._rdb or self._db
        assert db is not None
        rows = await db.execute_fetchall("SELECT MIN(created) FROM outbox")
        self.stats.oldest_created = rows[0][0] if rows else None

    async def expire(self, now: float | None = None) -> int:
        """Delete rows older than ttl_s (counted as expired)."""
        if self.config.ttl_s <= 0:
            return 0
        cutoff = (self.clock() if now is None else now) - self.config.ttl_s
        db = self._require()
        await self.settle_acked()  # a delivered row is sent, not expired
        async with self._wlock, transaction(db):
            rows = await db.execute_fetchall(
                "DELETE FROM outbox WHERE created < ? RETURNING prio, size, seq",
                (cutoff,),
            )
            await bump(db, "expired", len(rows))
        self.forget_unreadable(r[2] for r in rows)
        n = self._account((r[0], r[1]) for r in rows)
        if n:
            self.stats.expired += n
            log.warning("outbox: %d message(s) expired (older than ttl_s=%g)", n, self.config.ttl_s)
            await self.refresh_oldest()
        return n

    async def rollup(self, older_than_s: float, now: float | None = None) -> int:
        """Fold telemetry older than `older_than_s` into one averaged message per hour;
        returns how many messages were folded."""
        cutoff = (self.clock() if now is None else now) - older_than_s
        db = self._require()
        prio = PRIORITY["telemetry"]
        await self.settle_acked()  # delivered samples are not folded into an average
        async with self._wlock:
            rows = await db.execute_fetchall(
                "SELECT seq, created, payload, id FROM outbox WHERE prio = ? AND created < ? "
                "ORDER BY seq",
                (prio, cutoff),
            )
            # Samples the broker acknowledged since settle_acked are not folded in again.
            # Parsing and averaging a long outage's samples takes a while: off the loop.
            fresh = [r for r in rows if r[0] not in self._unapplied]
            plans = await asyncio.to_thread(plan_rollups, self._opened_telemetry(fresh))
            if not plans:
                return 0
            folded: list[tuple[int, int]] = []
            added: list[int] = []
            async with transaction(db):
                for plan in plans:
                    folded += await delete_in(db, plan.seqs)
                    kind, _, oid, text, size = self._encode("telemetry", plan.payload)
                    if self.seal_new:  # sealed under its own seq (see Outbox._insert_txn)
                        row = self._sealed(
                            [(oid, kind, prio, plan.created, size, text)],
                            await last_seq(db) + 1,
                        )[0]
                        await db.execute(
                            "INSERT INTO outbox (seq, id, kind, prio, created, size, payload) "
                            "VALUES (?,?,?,?,?,?,?)",
                            row,
                        )
                    else:
                        await db.execute(
                            "INSERT INTO outbox (id, kind, prio, created, size, payload) "
                            "VALUES (?,?,?,?,?,?)",
                            (oid, kind, prio, plan.created, size, text),
                        )
                    added.append(size)
                await bump(db, "rolled_up", len(folded))
                await bump(db, "rollups", len(plans))
                seq = await last_seq(db)
        self._account(folded)
        for size in added:
            self._count[prio] += 1
            self._bytes[prio] += size
        self._sync_stats()
        self.stats.last_seq = seq
        self.stats.rolled_up += len(folded)
        self.stats.rollups += len(plans)
        log.info(
            "outbox: rolled %d telemetry messages up into %d hourly averages",
            len(folded),
            len(plans),
        )
        return len(folded)

    def _opened_telemetry(
        self, rows: list[tuple[int, float, str | bytes, str]]
    ) -> list[tuple[int, float, str]]:
        """Telemetry rows with their payloads opened; one that cannot be is left out."""
        out = []
        for seq, created, payload, oid in rows:
            try:
                text = self.open_payload(seq, oid, "telemetry", created, payload)
            except ValueError as exc:
                self._mark_unreadable(seq, str(exc))
                continue
            out.append((seq, created, text))
        return out

    async def export(
        self, out: Path, *, remove: bool = False, decrypt: bool = False
    ) -> dict[str, Any]:
        """Write every queued message to `out` as NDJSON (fsynced); with `remove`, delete
        exactly the exported rows afterwards. Sealed rows are written sealed unless
        `decrypt`; with `decrypt`, a row that cannot be opened fails the export (nothing
        is written or removed)."""
        rows: list[OutboxRow] = []
        after = (-1, 0)
        await self.settle_acked()  # what the broker already has is not exported
        while True:
            batch = await self.fetch(1000, after, keep_sealed=not decrypt)
            if not batch:
                break
            rows += batch
            after = (batch[-1].prio, batch[-1].seq)
        if decrypt and self._unreadable:  # every queued row was just read
            raise StoreError(
                f"cannot decrypt {len(self._unreadable)} queued message(s): "
                f"{self.stats.last_unreadable}; nothing exported"
            )
        rows = [r for r in rows if r.seq not in self._unapplied]  # acknowledged meanwhile
        key_of = self.cipher.key_of if self.cipher is not None else None
        size = await asyncio.to_thread(export_rows, rows, Path(out), key_of)
        removed = 0
        if remove and rows:
            async with self._wlock, transaction(self._require()) as db:
                gone = await delete_in(db, [r.seq for r in rows])
            removed = self._account(gone)
            self.forget_unreadable(r.seq for r in rows)
            await self.refresh_oldest()
        sealed = sum(1 for r in rows if r.sealed is not None)
        return {
            "path": str(out),
            "messages": len(rows),
            "bytes": size,
            "removed": removed,
            "sealed": sealed,
            "decrypted": bool(decrypt),
        }

    async def _maintenance(self) -> None:
        last_rollup = last_retire = 0.0
        while True:
            await asyncio.sleep(self.maintenance_s)
            try:
                await self.save_counters()
                await self.refresh_oldest()
                oldest = self.stats.oldest_created
                ttl = self.config.ttl_s
                if ttl > 0 and oldest is not None and oldest < self.clock() - ttl:
                    await self.expire()
                if self.cipher is not None and time.monotonic() - last_retire > 30.0:
                    last_retire = time.monotonic()
                    await self.retire_keys()  # old keys go once their rows drained
                if self.rollup_after_s > 0 and time.monotonic() - last_rollup > 30.0:
                    last_rollup = time.monotonic()
                    await self.rollup(self.rollup_after_s)
            except sqlite3.Error as exc:
                self._warn("maintenance", "outbox upkeep failed: %s", exc)
