"""The outbox's drain side (a mixin of `edgetui.store.Outbox`): batched reads in drain
order and deletes of acknowledged rows, from the event loop or the uplink's drain thread."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from edgetui.models.buffer import OutboxRow
from edgetui.store_schema import delete_in

_COLUMNS = "seq, id, kind, prio, created, size, payload"


def wire_bytes(oid: str, seq: int, body: str) -> bytes:
    """The JSON sent to the broker: the payload object with `id` and `seq` in front."""
    head = '{"id":' + json.dumps(oid) + ',"seq":' + str(seq)
    rest = body[1:] if body != "{}" else "}"
    return (head + ("," + rest if rest != "}" else "}")).encode()


def _row(r: Iterable[Any]) -> OutboxRow:
    seq, oid, kind, prio, created, size, body = r
    return OutboxRow(seq, oid, kind, prio, created, size, wire_bytes(oid, seq, body))


class OutboxDrainSide:
    """Reads and acknowledged deletes; the figures live in the Outbox."""

    # -- drain side -------------------------------------------------------------------
    async def fetch(self, limit: int, after: tuple[int, int] = (-1, 0)) -> list[OutboxRow]:
        """Up to `limit` rows in drain order (class, then seq) strictly after `after`."""
        if self._rdb is None:
            return []
        rows = await self._rdb.execute_fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE (prio, seq) > (?, ?) ORDER BY prio, seq LIMIT ?",
            (after[0], after[1], limit),
        )
        return [_row(r) for r in rows]

    async def delete(self, seqs: list[int]) -> int:
        """Remove acknowledged rows; returns how many were still queued."""
        if not seqs or self._rdb is None:
            return 0
        return self.account_sent(await delete_in(self._rdb, seqs))

    def _ack_conn(self) -> sqlite3.Connection:
        if self._ackdb is None:
            self._ackdb = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._ackdb.execute("PRAGMA synchronous=NORMAL")
        return self._ackdb

    def fetch_blocking(self, limit: int, after: tuple[int, int] = (-1, 0)) -> list[OutboxRow]:
        """`fetch` for the uplink's drain thread (its own connection; blocking)."""
        with self._ack_lock:
            rows = (
                self._ack_conn()
                .execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE (prio, seq) > (?, ?) "
                    "ORDER BY prio, seq LIMIT ?",
                    (after[0], after[1], limit),
                )
                .fetchall()
            )
        return [_row(r) for r in rows]

    def delete_acked_blocking(self, seqs: list[int]) -> list[tuple[int, int]]:
        """Delete acknowledged rows from the drain thread (NORMAL sync: losing this to a
        power cut means a duplicate, never a loss); returns (prio, size) of each row that
        was still queued. The caller books them with `account_sent` on the event loop."""
        out: list[tuple[int, int]] = []
        with self._ack_lock:
            db = self._ack_conn()
            for k in range(0, len(seqs), 500):
                part = seqs[k : k + 500]
                marks = ",".join("?" * len(part))
                out += db.execute(
                    f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING prio, size", part
                ).fetchall()  # fetchall: the statement completes, so it commits
        return out

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
