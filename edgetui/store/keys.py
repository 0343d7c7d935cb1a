"""Sealed rows in the outbox (a mixin of `edgetui.store.Outbox`): the key check at start,
sealing the clear rows of a database when encryption is turned on, opening rows for the
drain, and key rotation with the retirement of keys no row needs any more.

Nothing here deletes a row: a row that cannot be opened stays queued, is skipped by the
drain and counted (`unreadable`), and the reason is logged and shown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from edgetui.models.buffer import OutboxRow
from edgetui.models.buffer_section import Encryption
from edgetui.store.schema import StoreError, transaction
from edgetui.store.sealed import row_aad, wire_of

log = logging.getLogger("edgetui.store")

MIGRATE_BATCH = 500
# Rows sealed under each key, by the first 10 bytes of the blob (magic + key id).
_KEYS_IN_USE = (
    "SELECT substr(payload, 1, 10), COUNT(*) FROM outbox WHERE typeof(payload) = 'blob' GROUP BY 1"
)


class OutboxKeys:
    """Encryption at rest for the outbox; the figures live in the Outbox's stats."""

    async def _keys_in_use(self) -> dict[str, int]:
        """Key id -> how many queued rows it sealed ("?" for blobs that are not sealed rows)."""
        db = self._require()
        used: dict[str, int] = {}
        for head, n in await db.execute_fetchall(_KEYS_IN_USE):
            try:
                kid = self.cipher.key_of(bytes(head)) if self.cipher else "?"
            except ValueError:
                kid = "?"
            used[kid] = used.get(kid, 0) + n
        return used

    async def check_keys(self) -> None:
        """Refuse to open an outbox whose sealed rows the key file cannot open: a lost or
        replaced key file is a clear error at start, and no row is touched."""
        used = await self._keys_in_use()
        if self.cipher is None and used:
            total = sum(used.values())
            raise StoreError(
                f"the outbox {self.path} holds {total} sealed message(s) but no data key is "
                "configured ([store] key_file missing?): restore the key file; nothing was deleted"
            )
        used.pop("?", None)  # not a sealed row: reported as unreadable when read
        if self.cipher is None or not used:
            return
        missing = {k: n for k, n in used.items() if not self.cipher.has_key(k)}
        if missing:
            which = ", ".join(f"{k} ({n} message(s))" for k, n in sorted(missing.items()))
            raise StoreError(
                f"the data key file {self.cipher.key_file} does not hold the key(s) that sealed "
                f"queued messages: {which}; restore the right key file (nothing was deleted)"
            )

    async def seal_clear_rows(self) -> int:
        """Seal every clear row (encryption just turned on), in batches, each a transaction;
        a crash in between leaves some rows clear and some sealed, both readable."""
        assert self.cipher is not None
        db = self._require()
        done = 0
        await db.execute("PRAGMA secure_delete=ON")  # the clear payloads are overwritten
        try:
            while True:
                async with self._wlock, transaction(db):
                    rows = await db.execute_fetchall(
                        "SELECT seq, id, kind, created, payload FROM outbox "
                        "WHERE typeof(payload) = 'text' ORDER BY seq LIMIT ?",
                        (MIGRATE_BATCH,),
                    )
                    if not rows:
                        break
                    blobs = self.cipher.seal_many(
                        [text.encode() for _, _, _, _, text in rows],
                        [row_aad(seq, kind, created, oid) for seq, oid, kind, created, _ in rows],
                    )
                    await db.executemany(
                        "UPDATE outbox SET payload = ? WHERE seq = ? AND typeof(payload) = 'text'",
                        zip(blobs, (r[0] for r in rows), strict=True),
                    )
                done += len(rows)
            if done:
                # Clear copies in the WAL go too (copied back over the sealed pages).
                await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await db.execute("PRAGMA secure_delete=OFF")
        if done:
            log.warning(
                "outbox: sealed %d queued message(s) with data key %s (encryption turned on)",
                done,
                self.cipher.key_id,
            )
        self.stats.migrated += done
        return done

    def sync_key_stats(self) -> None:
        s = self.stats
        if self.cipher is None:
            return
        s.key_id = self.cipher.key_id
        s.key_file = self.cipher.key_file
        s.keys = len(self.cipher.key_ids())
        s.unreadable = len(self._unreadable)

    def encryption_section(self) -> Encryption | None:
        """The `encryption` part of the buffer section (None: no data key, rows in clear)."""
        s = self.stats
        if s.key_id is None:
            return None
        return Encryption(
            s.encrypt, "AES-256-GCM", s.key_id, s.key_file, s.keys, s.unreadable,
            s.last_unreadable, s.migrated,
        )  # fmt: skip

    # -- reading (drain thread, export) ------------------------------------------------
    def open_rows(self, raw: Iterable[Any], *, keep_sealed: bool = False) -> list[OutboxRow]:
        """Rows as read by the drain (`seq, id, kind, prio, created, size, wire, sealed?`):
        sealed ones opened into their wire form (or, with keep_sealed, left sealed); a row
        that cannot be opened is skipped, remembered and logged, never deleted. (The drain's
        hot path: no call per row beyond the AAD, the decryption and the row itself.)"""
        out: list[OutboxRow] = []
        add = out.append
        open_ = self.cipher.open if self.cipher is not None else None
        for seq, oid, kind, prio, created, size, wire, is_sealed in raw:
            if not is_sealed:
                add(OutboxRow(seq, oid, kind, prio, created, size, wire))
            elif keep_sealed:
                add(OutboxRow(seq, oid, kind, prio, created, size, b"", sealed=wire))
            else:
                try:
                    if open_ is None:
                        raise ValueError("no data key configured")
                    text = open_(wire, row_aad(seq, kind, created, oid))
                except ValueError as exc:
                    self._mark_unreadable(seq, str(exc))
                    continue
                wire = (
                    b'{"id":"%b","seq":%d,%b' % (oid.encode(), seq, text[1:])
                    # wire_of's usual case: an id JSON need not escape, a payload not "{}"
                    if oid.isalnum() and len(text) > 2
                    else wire_of(oid, seq, text)
                )
                add(OutboxRow(seq, oid, kind, prio, created, size, wire))
        return out

    def _mark_unreadable(self, seq: int, why: str) -> None:
        msg = f"outbox message seq {seq} cannot be opened: {why}; kept, not sent"
        if seq not in self._unreadable:
            self._warn("unreadable", "%s", msg)
        self._unreadable[seq] = why
        self.stats.unreadable = len(self._unreadable)
        self.stats.last_unreadable = msg

    def open_payload(
        self, seq: int, oid: str, kind: str, created: float, payload: str | bytes
    ) -> str:
        """A row's payload text, opened if it is sealed; ValueError when it cannot be."""
        if isinstance(payload, str):
            return payload
        if self.cipher is None:
            raise ValueError("no data key configured")
        return self.cipher.open(bytes(payload), row_aad(seq, kind, created, oid)).decode()

    # -- rotation ---------------------------------------------------------------------
    async def rotate_key(self) -> dict[str, Any]:
        """A new data key seals new rows; old keys stay until their rows drain."""
        if self.cipher is None:
            raise StoreError("the outbox has no data key ([store] encrypt = false)")
        old = self.cipher.key_id
        try:
            new = await asyncio.to_thread(self.cipher.rotate)
        except OSError as exc:
            raise StoreError(
                f"cannot write the data key file {self.cipher.key_file}: {exc}"
            ) from None
        log.warning(
            "outbox: data key rotated: %s -> %s (new messages sealed under %s)", old, new, new
        )
        retired = await self.retire_keys()
        return {
            "key_id": new,
            "previous": old,
            "retired": retired,
            "keys": self.cipher.key_ids(),
            "key_file": self.cipher.key_file,
        }

    async def retire_keys(self) -> list[str]:
        """Remove from the key file the old keys no queued row needs (under the write lock,
        so no row is sealed under a key between the count and the removal)."""
        if self.cipher is None or len(self.cipher.key_ids()) < 2:
            return []
        await self.settle_acked()
        async with self._wlock:
            in_use = set(await self._keys_in_use())
            try:
                gone = await asyncio.to_thread(self.cipher.retire, in_use)
            except OSError as exc:
                self._warn("retire", "outbox: cannot retire old data keys yet: %s", exc)
                return []
        if gone:
            log.info(
                "outbox: retired data key(s) %s: no queued message needs them", ", ".join(gone)
            )
        self.sync_key_stats()
        return gone

    def forget_unreadable(self, seqs: Iterable[int]) -> None:
        """Rows that left the queue (exported, expired) are no longer unreadable."""
        for seq in seqs:
            self._unreadable.pop(seq, None)
        self.stats.unreadable = len(self._unreadable)
