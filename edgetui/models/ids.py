"""Ids: message ids (time-ordered UUIDs, the RFC 9562 version 7 layout, as 32 hex digits)
and the one short id of a key.

Ids made in the same millisecond share a prefix, so the outbox's unique index on `id`
grows at one end and shrinks at the other, like the queue: an acknowledged batch is
deleted from one or two index pages instead of one random page per row.
"""

from __future__ import annotations

import hashlib
import os
import time


def new_id() -> str:
    """A fresh id: 48 bits of Unix milliseconds, version 7, variant 10, 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (1 << 48) - 1) << 80 | rand
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return f"{value:032x}"


def key_fingerprint(raw: bytes) -> str:
    """The short public name of a key: 16 hex digits of sha256 over its raw bytes (an
    Ed25519 public key for signing keys, the AES key itself for a data key)."""
    return hashlib.sha256(raw).hexdigest()[:16]
