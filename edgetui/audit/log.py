"""The audit trail: an append-only, hash-chained log of every mutating action.

One JSON line per record (format in `audit_reader`), appended with O_APPEND under an
exclusive flock and fsynced before the action's caller gets its answer, so a record is on
disk before anyone is told the action happened. The head (last seq and hash) is signed with
the device key from time to time and at stop (`audit.log.head.json`), which is what lets
`verify` notice records cut off the end. A crash mid-append leaves a torn last line: at
open it is moved to `audit.log.torn-<time>` (kept, never deleted) and the chain goes on.

Blocking file I/O: callers on the event loop use asyncio.to_thread.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edgetui.audit.device_key import DeviceKey
from edgetui.audit.reader import (
    GENESIS,
    AuditFormatError,
    canonical,
    head_path,
    head_payload,
    parse_record,
    read_records,
    record_hash,
)
from edgetui.durable import atomic_write, fsync_dir
from edgetui.models.clock import rfc3339

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Param names whose values never reach the log (case-insensitive, anywhere in the name).
_SECRET = re.compile(r"pin|pass|secret|token|private|credential|^key$|_key$", re.IGNORECASE)
_MAX_TEXT = 200  # longer strings in params are cut (the log records what, not payloads)
_TAIL_CHUNK = 64 * 1024


def redact(value: Any, depth: int = 0) -> Any:
    """Params as they go into a record: secrets replaced by "***", long text cut, deep or
    wide structures summarised (a record stays one short line)."""
    if depth > 4:
        return "…"
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= 32:
                out["…"] = f"{len(value) - 32} more"
                break
            key = str(k)[:64]
            out[key] = "***" if _SECRET.search(key) else redact(v, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = [redact(v, depth + 1) for v in list(value)[:32]]
        return [*items, f"… {len(value) - 32} more"] if len(value) > 32 else items
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + f"… ({len(value)} chars)"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)[:_MAX_TEXT]


class AuditLog:
    """The writer. `open()` once (recovers a torn tail), then `append()` per action."""

    def __init__(
        self,
        path: Path,
        *,
        key: DeviceKey | None = None,
        device_id: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.head_path = head_path(self.path)
        self.key = key
        self.device_id = device_id
        self.clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = -1  # file size after our last append (another writer changes it)
        self.last_seq = 0
        self.last_hash = GENESIS
        self.appended = 0
        self.signed_seq = 0
        self.signed_at: str | None = None
        self.last_error: str | None = None
        self.fsync = True  # False only in `bench audit`, to show the chain's own CPU cost

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        """Create or open the log (0640, directory 0750) and find its last record."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        with self._locked():
            self._recover_torn_tail()
            self._load_tail()
        head = self._read_head_quietly()
        if head is not None:
            self.signed_seq = int(head.get("seq", 0))
            self.signed_at = head.get("time")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        assert self._fd is not None, "AuditLog.open() first"
        fd = self._fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _recover_torn_tail(self) -> None:
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        start = max(0, size - _TAIL_CHUNK)
        tail = os.pread(self._fd, size - start, start)
        if tail.endswith(b"\n"):
            return
        cut = tail.rfind(b"\n")
        keep = start + cut + 1 if cut >= 0 else (0 if start == 0 else None)
        if keep is None:  # a last line longer than the chunk: not ours, leave it to verify
            return
        torn = os.pread(self._fd, size - keep, keep)
        aside = self.path.with_name(f"{self.path.name}.torn-{int(self.clock())}")
        aside.write_bytes(torn)
        os.truncate(self.path, keep)
        os.fsync(self._fd)
        fsync_dir(self.path.parent)
        log.warning(
            "audit: the last record of %s was cut short by a crash (%d bytes): kept in %s",
            self.path,
            len(torn),
            aside,
        )

    def _load_tail(self) -> None:
        """Find the last record (read from the end; a log can be long)."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        self._size = size
        if size == 0:
            self.last_seq, self.last_hash = 0, GENESIS
            return
        start = max(0, size - _TAIL_CHUNK)
        tail = os.pread(self._fd, size - start, start).rstrip(b"\n")
        last = tail.rsplit(b"\n", 1)[-1]
        try:
            rec = parse_record(last, 0)
            self.last_seq, self.last_hash = rec["seq"], rec["hash"]
        except AuditFormatError as exc:
            # Keep appending, chained to the raw bytes of that line: verify will point at it.
            self.last_hash = hashlib.sha256(last).hexdigest()
            self.last_seq = self.last_seq + 1 if self.last_seq else self._count_lines()
            self.last_error = f"the last line of {self.path} is not a record: {exc.reason}"
            log.error("audit: %s", self.last_error)

    def _count_lines(self) -> int:
        with open(self.path, "rb") as f:
            return sum(1 for _ in f)

    # -- writing --------------------------------------------------------------------------
    def append(
        self, who: dict[str, Any], what: dict[str, Any], result: dict[str, Any]
    ) -> dict[str, Any]:
        """Append one record and fsync it; returns the record as written."""
        if self._fd is None:  # closed by a runtime restart while a call was finishing
            self.open()
        with self._lock, self._locked() as fd:
            if os.fstat(fd).st_size != self._size:
                self._load_tail()  # another process appended since our last record
            rec: dict[str, Any] = {
                "v": FORMAT_VERSION,
                "seq": self.last_seq + 1,
                "time": rfc3339(self.clock()),
                "who": who,
                "what": what,
                "result": result,
                "prev": self.last_hash,
            }
            rec["hash"] = record_hash(rec)
            line = canonical(rec) + b"\n"
            os.write(fd, line)
            if self.fsync:
                os.fsync(fd)
            self._size = os.fstat(fd).st_size
            self.last_seq, self.last_hash = rec["seq"], rec["hash"]
            self.appended += 1
        return rec

    def sign_head(self) -> dict[str, Any] | None:
        """Sign the current head with the device key (durably); None when there is nothing
        new to sign or no key."""
        if self.key is None or self.last_seq == 0 or self.last_seq == self.signed_seq:
            return None
        with self._lock:
            head: dict[str, Any] = {
                "device_id": self.device_id,
                "seq": self.last_seq,
                "hash": self.last_hash,
                "time": rfc3339(self.clock()),
                "key_id": self.key.key_id,
            }
            head["signature"] = base64.b64encode(self.key.sign(head_payload(head))).decode()
            atomic_write(self.head_path, json.dumps(head, sort_keys=True).encode() + b"\n")
            os.chmod(self.head_path, 0o640)
            self.signed_seq, self.signed_at = head["seq"], head["time"]
        return head

    def _read_head_quietly(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.head_path.read_bytes())
        except (OSError, ValueError):
            return None

    # -- reading --------------------------------------------------------------------------
    def last(self, n: int) -> list[dict[str, Any]]:
        """The last `n` records, newest first (read from the end of the file)."""
        if n <= 0 or not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            chunk = min(size, max(_TAIL_CHUNK, n * 2048))
            f.seek(size - chunk)
            data = f.read(chunk)
        out: list[dict[str, Any]] = []
        for raw in reversed(data.split(b"\n")[1 if chunk < size else 0 :]):
            if not raw.strip():
                continue
            with contextlib.suppress(AuditFormatError):
                out.append(parse_record(raw, 0))
            if len(out) >= n:
                break
        return out

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record, oldest first (AuditFormatError at a bad line)."""
        return read_records(self.path)
