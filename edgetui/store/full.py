"""When the outbox cannot take a message (a mixin of `edgetui.store.Outbox`): the on_full
policy at its bounds (`drop_oldest`, `reject_new`), and storage errors in words."""

from __future__ import annotations

import sqlite3

import aiosqlite

from edgetui.store.schema import KINDS, StoreError, bump, delete_in


class OutboxFull(StoreError):
    """The outbox is at its bounds and the policy refused or dropped this message."""


def _is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


class OutboxWhenFull:
    """The bounds policy and the storage-error message; the figures live in the Outbox."""

    async def _make_room(
        self,
        db: aiosqlite.Connection,
        items: list[tuple[str, int, str, str, int]],
        over_n: int,
        over_b: int,
    ) -> list[tuple[int, int]]:
        """Apply the on_full policy inside the caller's transaction: returns the dropped
        rows' (prio, size), accounted by the caller once committed; raises OutboxFull."""
        what = f"{len(items)} {items[0][0]} message" + ("s" if len(items) > 1 else "")
        bounds = (
            f"{sum(self._count)} messages / {sum(self._bytes)} bytes queued, bounds "
            f"{self.config.max_messages} / {self.config.max_bytes}"
        )
        if self.config.on_full == "reject_new":
            await bump(db, "rejected", len(items))
            await db.execute("COMMIT")
            self.stats.rejected += len(items)
            self._warn(
                "rejected", "outbox full (%s): rejected %s (on_full=reject_new)", bounds, what
            )
            raise OutboxFull(f"outbox full ({bounds}): rejected {what} (on_full=reject_new)")
        # drop_oldest: the oldest rows of the lowest class go first, but never a row of a
        # higher class than the newest message: then the new message is the one dropped.
        new_prio = min(i[1] for i in items)
        victims: list[int] = []
        freed_n = freed_b = 0
        for prio in range(len(KINDS) - 1, new_prio - 1, -1):
            last_seq = 0
            while freed_n < over_n or freed_b < over_b:
                rows = await db.execute_fetchall(
                    "SELECT seq, size FROM outbox WHERE prio = ? AND seq > ? "
                    "ORDER BY seq LIMIT 256",
                    (prio, last_seq),
                )
                if not rows:
                    break
                for seq, size in rows:
                    last_seq = seq
                    if freed_n >= over_n and freed_b >= over_b:
                        break
                    victims.append(seq)
                    freed_n += 1
                    freed_b += size
            if freed_n >= over_n and freed_b >= over_b:
                break
        if freed_n < over_n or freed_b < over_b:
            await bump(db, "dropped", len(items))
            await db.execute("COMMIT")
            self.stats.dropped += len(items)
            self._warn(
                "dropped-new",
                "outbox full of higher-priority messages (%s): dropped the new %s",
                bounds,
                what,
            )
            raise OutboxFull(
                f"outbox full of higher-priority messages ({bounds}): dropped the new {what}"
            )
        removed = await delete_in(db, victims)
        await bump(db, "dropped", len(removed))
        return removed

    def _store_error(
        self, exc: sqlite3.Error, items: list[tuple[str, int, str, str, int]]
    ) -> StoreError:
        self.stats.store_errors += 1
        what = f"{len(items)} {items[0][0]} message" + ("s" if len(items) > 1 else "")
        kept = f"{sum(self._count)} queued messages kept"
        if _is_full(exc):
            msg = f"outbox storage full: cannot store {what} ({exc}); {kept}"
        else:
            msg = f"outbox write failed: cannot store {what} ({exc}); {kept}"
        self.stats.last_store_error = msg
        self._warn("store-error", "%s", msg)
        return StoreError(msg)
