"""Sealed rows: what the outbox asks of a payload cipher, the associated data it binds to
each row, and the wire form built from an opened payload.

The cipher comes from the runtime (edgetui.sealing's `OutboxCipher`); the store knows it
only through `PayloadCipher`. A sealed row keeps its payload as a BLOB (a clear one is
TEXT), so one table can hold both while a database is being migrated or drained after
encryption was turned off. A sealed row holds its payload; the drain puts `id` and `seq` in
front of what it opens (`wire_of`), as SQLite does for a clear row. (Not SQLite for a sealed
row too: building that head in the query costs about 0.5 µs a row, in Python 0.2.)
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Protocol

AAD_PREFIX = b"edgetui-outbox-v1\x00"


class PayloadCipher(Protocol):
    """Seals and opens payloads; `open` and `key_of` raise ValueError with a reason."""

    @property
    def key_id(self) -> str: ...

    @property
    def key_file(self) -> str: ...

    def seal(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def seal_many(self, plaintexts: Sequence[bytes], aads: Sequence[bytes]) -> list[bytes]: ...

    def open(self, blob: bytes, aad: bytes) -> bytes: ...

    def key_of(self, blob: bytes) -> str: ...

    def has_key(self, key_id: str) -> bool: ...

    def key_ids(self) -> list[str]: ...

    def rotate(self) -> str: ...

    def retire(self, in_use: set[str]) -> list[str]: ...


_AAD_HEAD = struct.Struct(f">{len(AAD_PREFIX)}sqd").pack  # prefix | seq | created
_KIND_BYTES: dict[str, bytes] = {}


def row_aad(seq: int, kind: str, created: float, oid: str) -> bytes:
    """The associated data of a row: its seq, its time (the exact double), its class and
    its message id, so a payload moved to another row, or a row re-dated, re-classed or
    given another id, fails to open. (Once per row on both hot paths: one pack, one dict
    lookup, two concatenations.)"""
    kb = _KIND_BYTES.get(kind)
    if kb is None:
        kb = _KIND_BYTES[kind] = kind.encode() + b"\x00"
    return _AAD_HEAD(AAD_PREFIX, seq, created) + kb + oid.encode()


def wire_of(oid: str, seq: int, text: bytes) -> bytes:
    """The wire form of a payload: the object with `id` and `seq` in front (the same bytes
    SQLite builds for a clear row; `keys.OutboxKeys.open_rows` inlines the usual case)."""
    quoted = (
        b'"' + oid.encode() + b'"'
        if oid.isascii() and oid.isalnum()  # the usual id: nothing to escape
        else json.dumps(oid, ensure_ascii=False).encode()
    )
    return (
        b'{"id":'
        + quoted
        + b',"seq":'
        + str(seq).encode()
        + (b"}" if text == b"{}" else b"," + text[1:])
    )
