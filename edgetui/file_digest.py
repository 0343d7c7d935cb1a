"""The sha256 of a file, read in chunks: models, bundles, packages and slot contents.

Digests are remembered for the life of the process, keyed on the file's identity and change
stamps (device, inode, size, mtime, ctime), so hashing an unchanged file again costs a stat.
That is what lets a trial boot read its model once although three checks want its digest
(the boot's slot digest, the inference engine's model check, the health check). Any write,
truncate, rename over or `touch` moves ctime, which no user can set back, so a changed file
is always read again. A caller that must see the bytes on the device whatever the stamps say
(a periodic tamper re-hash) passes `fresh=True`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
# A handful of slots' worth of files; each entry is a few dozen bytes.
MEMO_SIZE = 256
# The kernel stamps ctime from a clock that ticks every few milliseconds (whole seconds on
# some filesystems), so a change made in the same tick as the one before it may leave ctime
# as it was. A digest is therefore only remembered for a file whose ctime is at least this
# far behind the moment hashing started: any later change then gets a later ctime.
SETTLE_NS = 100_000_000
SETTLE_WHOLE_SECONDS_NS = 2_000_000_000

_Stamp = tuple[int, int, int, int, int]  # dev, ino, size, mtime_ns, ctime_ns
_memo: OrderedDict[tuple[int, int], tuple[_Stamp, str]] = OrderedDict()
_lock = threading.Lock()  # callers hash from worker threads
_now_ns = time.time_ns  # the wall clock ctime is compared with (tests move it)


def _stamp(st: os.stat_result) -> _Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _settled(st: os.stat_result, started_ns: int) -> bool:
    """True when a change after `started_ns` could not leave this ctime unchanged."""
    whole_seconds = st.st_ctime_ns % 1_000_000_000 == 0
    margin = SETTLE_WHOLE_SECONDS_NS if whole_seconds else SETTLE_NS
    return st.st_ctime_ns + margin <= started_ns


def _read_digest(f: BinaryIO, chunk: int) -> str:
    """Hex sha256 of everything left in `f` (the one place a file's bytes are read)."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    while n := f.readinto(buf):  # type: ignore[attr-defined]
        h.update(view[:n])
    return h.hexdigest()


def sha256_file(path: Path, *, chunk: int = CHUNK, fresh: bool = False) -> str:
    """Hex sha256 of a file (blocking: call it off the event loop).

    Unless `fresh`, a file whose stamps match a digest taken earlier in this process is not
    read again. The digest is remembered only if the stamps did not move while reading.
    """
    started = _now_ns()
    if not fresh:
        st = os.stat(path)
        with _lock:
            hit = _memo.get((st.st_dev, st.st_ino))
            if hit is not None and hit[0] == _stamp(st):
                _memo.move_to_end((st.st_dev, st.st_ino))
                return hit[1]
    with open(path, "rb") as f:
        before = os.fstat(f.fileno())
        digest = _read_digest(f, chunk)
        after = os.fstat(f.fileno())
    stamp = _stamp(before)
    if stat.S_ISREG(before.st_mode) and _stamp(after) == stamp and _settled(before, started):
        key = (before.st_dev, before.st_ino)
        with _lock:
            _memo[key] = (stamp, digest)
            _memo.move_to_end(key)
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
    return digest


def forget() -> None:
    """Drop every remembered digest (tests; a caller that wants a clean slate)."""
    with _lock:
        _memo.clear()
