"""The outbox's figures read from its SQLite file opened read-only, for a one-shot command
that starts neither the outbox nor the uplink (`edgetui status` with no daemon).

Opening the outbox for real has side effects (schema upgrades, sealing clear rows, TTL and
rollup upkeep, a journal); this reader has none: `mode=ro`, a few aggregate queries, closed
again. Its section has the uplink's "buffer" shape, with the connection fields saying that
nothing is connected or sent from here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.config import StoreConfig
from edgetui.models.buffer import OutboxStats
from edgetui.models.buffer_section import BufferSection, Connection, Drain, UplinkState
from edgetui.store.schema import COUNTERS, KINDS

log = logging.getLogger(__name__)

NOT_RUNNING = "not running (no daemon): the outbox read from disk, nothing is sent"


def read_stats(config: StoreConfig, path: Path) -> OutboxStats:
    """Blocking: the outbox's counts from `path` opened read-only (zeros when absent)."""
    stats = OutboxStats(
        path=str(path),
        max_messages=config.max_messages,
        max_bytes=config.max_bytes,
        on_full=config.on_full,
        ttl_s=config.ttl_s,
        encrypt=config.encrypt,
    )
    stats.by_class = dict.fromkeys(KINDS, 0)
    if not path.exists():
        return stats
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        for prio, n, size in db.execute(
            "SELECT prio, COUNT(*), COALESCE(SUM(size), 0) FROM outbox GROUP BY prio"
        ):
            if 0 <= prio < len(KINDS):
                stats.by_class[KINDS[prio]] = n
            stats.queued += n
            stats.queued_bytes += size
        for key, value in db.execute("SELECT key, value FROM outbox_meta"):
            if key in COUNTERS:
                setattr(stats, key, value)
        row = db.execute("SELECT MIN(created) FROM outbox").fetchone()
        stats.oldest_created = row[0] if row else None
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        stats.last_seq = row[0] if row else 0
    finally:
        db.close()
    return stats


class OutboxReader:
    """Section "buffer" (and method `buffer.stats`) from the outbox file, read-only.
    `broker_url` is `[uplink] url`: the state is "no_broker" without one, else
    "not_running"."""

    name = "buffer"

    def __init__(self, config: StoreConfig, path: Path, *, broker_url: str = "") -> None:
        self.config = config
        self.path = Path(path)
        self.broker_url = broker_url
        self.stats = OutboxStats(path=str(self.path))
        self.error: str | None = None

    async def start(self) -> None:
        await self.refresh()

    async def stop(self) -> None:
        return None

    async def refresh(self) -> None:
        """Read the figures again (in a thread: SQLite is blocking)."""
        try:
            self.stats = await asyncio.to_thread(read_stats, self.config, self.path)
            self.error = None
        except sqlite3.Error as exc:  # locked, corrupt or not an outbox: say so, keep going
            self.error = f"cannot read {self.path}: {exc}"
            log.warning("buffer: %s", self.error)

    def section(self) -> BufferSection:
        """The uplink's `buffer` section shape, from the file; nothing in flight."""
        conn = Connection(
            state=UplinkState.NOT_RUNNING if self.broker_url else UplinkState.NO_BROKER,
            state_text=NOT_RUNNING if self.broker_url else "no broker configured",
            error_kind="read_error" if self.error else None,
            last_error=self.error,
        )
        return BufferSection.of(conn, self.stats, Drain(), read_only=True)

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        async def stats(_: dict[str, Any]) -> BufferSection:
            await self.refresh()
            return self.section()

        return {"buffer.stats": stats}
