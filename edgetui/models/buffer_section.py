"""The `buffer` section: the store-and-forward outbox and the uplink that drains it (what
`buffer stats --json` prints). The uplink builds it while it runs; a runtime that only reads
the outbox file builds the same shape with nothing in flight."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from edgetui.models.buffer import OutboxStats
from edgetui.models.serde import OMIT_NONE


class UplinkState(enum.StrEnum):
    """`buffer.state`: the uplink's connection to the broker."""

    NO_BROKER = "no_broker"  # `[uplink] url` is empty: buffering only
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKOFF = "backoff"  # not connected; retrying after a delay
    ERROR = "error"  # a configuration error: no retry
    STOPPED = "stopped"
    NOT_RUNNING = "not_running"  # this runtime only reads the outbox file


@dataclass
class Encryption:
    """`buffer.encryption`: rows sealed at rest, the key sealing them, rows not readable."""

    enabled: bool
    alg: str
    key_id: str
    key_file: str | None
    keys: int
    unreadable: int
    last_unreadable: str | None
    migrated: int


@dataclass
class Connection:
    """What the uplink says of its connection (all empty when nothing connects)."""

    state: UplinkState
    state_text: str
    broker: str | None = None
    client_id: str | None = None
    mqtt_version: int | None = None
    connected_since: str | None = None
    retry_in_s: float | None = None
    attempts: int = 0
    error_kind: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None


@dataclass
class Drain:
    """The drain's own figures: in flight, its window and the send rate."""

    inflight: int = 0
    window: int = 0
    send_rate: float = 0.0


@dataclass
class BufferSection(Connection):
    """The `buffer` section of the snapshot (and the answer of `buffer.stats`): the
    connection's fields first, then the outbox's and the drain's."""

    queued: int = 0
    queued_bytes: int = 0
    max_messages: int = 0
    max_bytes: int = 0
    fill_percent: float = 0.0
    by_class: dict[str, int] = field(default_factory=dict)
    oldest_age_s: float | None = None
    inflight: int = 0
    window: int = 0
    send_rate: float = 0.0
    sent: int = 0
    dropped: int = 0
    rejected: int = 0
    expired: int = 0
    rolled_up: int = 0
    store_errors: int = 0
    last_store_error: str | None = None
    seq: int = 0
    on_full: str = "drop_oldest"
    ttl_s: float = 0.0
    path: str = ""
    moved_aside: str | None = None
    encryption: Encryption | None = None
    read_only: bool | None = field(default=None, metadata=OMIT_NONE)  # only when it is

    @classmethod
    def of(
        cls,
        conn: Connection,
        s: OutboxStats,
        drain: Drain,
        encryption: Encryption | None = None,
        *,
        read_only: bool = False,
        now: float | None = None,
    ) -> BufferSection:
        """The section from the connection, the outbox's figures and the drain's: the one
        place both builders (the uplink, the read-only reader) write it."""
        now = time.time() if now is None else now
        oldest = s.oldest_created
        return cls(
            **vars(conn),
            queued=s.queued,
            queued_bytes=s.queued_bytes,
            max_messages=s.max_messages,
            max_bytes=s.max_bytes,
            fill_percent=s.fill_percent,
            by_class=dict(s.by_class),
            oldest_age_s=round(max(0.0, now - oldest), 1) if oldest is not None else None,
            **vars(drain),
            sent=s.sent,
            dropped=s.dropped,
            rejected=s.rejected,
            expired=s.expired,
            rolled_up=s.rolled_up,
            store_errors=0 if read_only else s.store_errors,
            last_store_error=None if read_only else s.last_store_error,
            seq=s.last_seq,
            on_full=s.on_full,
            ttl_s=s.ttl_s,
            path=s.path,
            moved_aside=None if read_only else s.moved_aside,
            encryption=encryption,
            read_only=True if read_only else None,
        )
