"""Outbox rows and figures: what the store hands the uplink, and what `buffer stats` shows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Receipt:
    """A committed message: its unique id and its per-device sequence number."""

    id: str
    seq: int


@dataclass
class OutboxRow:
    """A queued message; `wire` is the exact JSON sent (the payload plus `id` and `seq`)."""

    seq: int
    id: str
    kind: str
    prio: int
    created: float
    size: int
    wire: bytes
    sealed: bytes | None = None  # the sealed payload, when read without opening it (export)


@dataclass
class OutboxStats:
    """The outbox's own figures (in memory, refreshed on every change)."""

    path: str
    queued: int = 0
    queued_bytes: int = 0
    max_messages: int = 0
    max_bytes: int = 0
    on_full: str = "drop_oldest"
    ttl_s: float = 0.0
    by_class: dict[str, int] = field(default_factory=dict)
    oldest_created: float | None = None
    last_seq: int = 0
    dropped: int = 0
    rejected: int = 0
    expired: int = 0
    rolled_up: int = 0
    rollups: int = 0
    sent: int = 0
    store_errors: int = 0
    last_store_error: str | None = None
    moved_aside: str | None = None
    # Encryption at rest (None/0 without a data key): new rows sealed, the key sealing
    # them, the key file, how many keys it holds, rows that cannot be opened (kept, not
    # sent) and why, clear rows sealed when encryption was turned on.
    encrypt: bool = False
    key_id: str | None = None
    key_file: str | None = None
    keys: int = 0
    unreadable: int = 0
    last_unreadable: str | None = None
    migrated: int = 0

    @property
    def fill_percent(self) -> float:
        """The fuller of the two bounds, in percent."""
        by_n = self.queued / self.max_messages if self.max_messages else 0.0
        by_b = self.queued_bytes / self.max_bytes if self.max_bytes else 0.0
        return round(100.0 * max(by_n, by_b), 1)
