"""The outbox's acknowledgement journal: the seqs of rows the broker acknowledged, appended
to a small file beside the database until they are deleted from it in bulk.

Appending a few bytes with one `write` costs a few microseconds; a SQLite commit per batch
of PUBACKs cost ten times that and was most of what the drain did besides paho's own work.
A write that returned is in the page cache and survives a SIGKILL, like a commit with
`synchronous=NORMAL`; a power cut may lose the tail of either, which only means duplicates.

Layout: an 16-byte header (magic, the database's instance number) and then one signed 64-bit
little-endian seq per acknowledged row. A journal whose instance is not the database's (the
database was replaced) is ignored: its seqs would name other rows.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

log = logging.getLogger("edgetui.store")

MAGIC = b"EDGEACK1"
_HEAD = struct.Struct("<8sq")
_SEQ = struct.Struct("<q")
SUFFIX = "-acks"  # beside the database file, like SQLite's -wal and -shm


def journal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + SUFFIX)


def read_journal(path: Path, instance: int) -> list[int]:
    """Seqs left by an earlier run for the database `instance` ([] if none). A trailing
    partial record (a write cut short) is skipped: it was never acknowledged to anyone."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
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
        self.pending = 0  # seqs appended since the last reset

    def open(self) -> None:
        """Start an empty journal (the caller applied what an earlier run left)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, _HEAD.pack(MAGIC, self.instance))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.pending = 0

    def append(self, seqs: list[int]) -> None:
        """Record `seqs` with one write; raises OSError (a full disk, say)."""
        if self._fd is None:
            raise OSError("acknowledgement journal is not open")
        data = _SEQ.size * len(seqs)
        buf = struct.pack(f"<{len(seqs)}q", *seqs)
        if os.write(self._fd, buf) != data:
            raise OSError(f"short write to {self.path}")
        self.pending += len(seqs)

    def reset(self) -> None:
        """Everything recorded was applied to the database: start over."""
        if self._fd is not None:
            os.ftruncate(self._fd, _HEAD.size)
        self.pending = 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
