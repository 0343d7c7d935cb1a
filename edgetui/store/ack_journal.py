"""The outbox's acknowledgement journal: the seqs of rows the broker acknowledged, appended
to a small file beside the database until they are deleted from it in bulk.

Appending a few bytes with one `write` costs a few microseconds; a SQLite commit per batch
of PUBACKs cost ten times that and was most of what the drain did besides paho's own work.
A write that returned is in the page cache and survives a SIGKILL, like a commit with
`synchronous=NORMAL`; a power cut may lose the tail of either, which only means duplicates.

Layout: a 16-byte header (magic, the database's instance number) and then one signed 64-bit
little-endian seq per acknowledged row. A journal whose instance is not the database's (the
database was replaced) is ignored: its seqs would name other rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from pathlib import Path

log = logging.getLogger("edgetui.store")

MAGIC = b"EDGEACK1"
_HEAD = struct.Struct("<8sq")
_SEQ = struct.Struct("<q")
SUFFIX = "-acks"  # beside the database file, like SQLite's -wal and -shm


def _pack(seqs: list[int]) -> bytes:
    return struct.pack(f"<{len(seqs)}q", *seqs)


def journal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + SUFFIX)


def read_journal(path: Path, instance: int) -> list[int]:
    """Seqs left by an earlier run for the database `instance` ([] if none). A trailing
    partial record (a write cut short) is skipped: it was never acknowledged to anyone."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:  # unreadable: those rows are sent again, never lost
        log.warning("outbox: cannot read the acknowledgement journal %s: %s", path, exc)
        return []
    if len(data) < _HEAD.size:
        return []
    magic, owner = _HEAD.unpack_from(data)
    if magic != MAGIC or owner != instance:
        log.warning(
            "outbox: ignoring acknowledgement journal %s: it belongs to another database", path
        )
        return []
    end = _HEAD.size + (len(data) - _HEAD.size) // _SEQ.size * _SEQ.size
    return [s for (s,) in _SEQ.iter_unpack(data[_HEAD.size : end]) if s > 0]


class AckJournal:
    """Append-only record of acknowledged seqs for one database (one writer thread)."""

    def __init__(self, path: Path, instance: int) -> None:
        self.path = path
        self.instance = instance
        self._fd: int | None = None
        self._end = 0  # bytes written and kept

    def open(self, carry: list[int] | None = None) -> None:
        """Start a fresh journal holding `carry` (seqs an earlier run left that could not be
        applied yet). Written beside and renamed over the old one, so a kill in between
        leaves one or the other whole."""
        tmp = self.path.with_name(self.path.name + ".new")
        head = _HEAD.pack(MAGIC, self.instance) + _pack(carry or [])
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            if os.write(fd, head) != len(head):
                raise OSError(f"short write to {tmp}")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._end = len(head)

    def append(self, seqs: list[int]) -> None:
        """Record `seqs` with one write; raises OSError (a full disk, say), leaving the
        journal as it was: a torn record would shift every record after it."""
        if self._fd is None:
            raise OSError("acknowledgement journal is not open")
        buf = _pack(seqs)
        try:
            if os.write(self._fd, buf) != len(buf):
                raise OSError(f"short write to {self.path}")
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._end)
            raise
        self._end += len(buf)

    def reset(self) -> None:
        """Everything recorded was applied to the database: start over."""
        if self._fd is not None:
            os.ftruncate(self._fd, _HEAD.size)
            self._end = _HEAD.size

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
