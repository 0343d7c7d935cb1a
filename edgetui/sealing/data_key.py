"""The device data key: AES-256 keys in a 0600 key file outside the database.

The file holds a small keyring, so a rotation never strands a queued row: new rows are
sealed under the current key, older keys stay until no row needs them, then they are
retired (removed from the file). The file is JSON:

    {"format": "edgetui-data-key-v1", "current": "<id>",
     "keys": [{"id": "<16 hex>", "key": "<base64 of 32 bytes>", "created": "<RFC 3339>"}]}

A key's id is the first 16 hex digits of sha256 over the key: it names the key in sealed
rows and in messages, and reveals nothing about it. Every write is temp, fsync, rename,
fsync the directory, with the file created 0600 (never a moment at a wider mode).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from edgetui.durable import fsync_dir
from edgetui.models.clock import rfc3339
from edgetui.models.ids import key_fingerprint

FORMAT = "edgetui-data-key-v1"
KEY_BYTES = 32  # AES-256


class DataKeyError(Exception):
    """The key file is missing, unreadable, too open or malformed; one line naming it."""


@dataclass(frozen=True)
class DataKey:
    """One AES-256 key of the ring."""

    id: str
    key: bytes
    created: str


class DataKeyring:
    """The keys of one key file; `current` seals new rows, every key still opens."""

    def __init__(self, path: Path, keys: list[DataKey], current: str) -> None:
        self.path = Path(path)
        self._keys = {k.id: k for k in keys}
        self._current = current
        self._lock = threading.Lock()  # rotate/retire vs readers on the drain thread

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> DataKeyring:
        """Read an existing key file; DataKeyError says what is wrong with it."""
        path = Path(path)
        try:
            st = path.stat()
            raw = path.read_bytes()
        except FileNotFoundError:
            raise DataKeyError(f"data key file {path} not found") from None
        except OSError as exc:
            raise DataKeyError(f"cannot read data key file {path}: {exc.strerror}") from None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Like ssh with a private key: a key others can read is not a secret any more.
            raise DataKeyError(
                f"data key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o});"
                f" run: chmod 600 {path}"
            )
        try:
            doc = json.loads(raw)
            if doc.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            keys = []
            for entry in doc["keys"]:
                key = base64.b64decode(entry["key"], validate=True)
                if len(key) != KEY_BYTES:
                    raise ValueError(f"a key of {len(key)} bytes (expected {KEY_BYTES})")
                if key_fingerprint(key) != entry["id"]:
                    raise ValueError(f"key {entry['id']} does not match its id")
                keys.append(DataKey(entry["id"], key, str(entry.get("created", ""))))
            current = doc["current"]
            if current not in {k.id for k in keys}:
                raise ValueError(f"current key {current} is not in the file")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataKeyError(f"data key file {path} is malformed: {exc}") from None
        return cls(path, keys, current)

    @classmethod
    def create(cls, path: Path) -> DataKeyring:
        """A new key file with one fresh key; refuses to overwrite an existing file."""
        path = Path(path)
        if path.exists():
            raise DataKeyError(f"data key file {path} already exists")
        ring = cls(path, [], "")
        ring._add_new()
        ring._save(exclusive=True)
        return ring

    @classmethod
    def open_or_create(cls, path: Path) -> tuple[DataKeyring, bool]:
        """Load the key file, or create it when there is none; (ring, created)."""
        if Path(path).exists():
            return cls.load(path), False
        return cls.create(path), True

    # -- what the sealing needs -------------------------------------------------------
    @property
    def current(self) -> DataKey:
        with self._lock:
            return self._keys[self._current]

    def get(self, key_id: str) -> DataKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._keys)

    # -- rotation ---------------------------------------------------------------------
    def rotate(self) -> DataKey:
        """Add a fresh key and make it current (saved before it is used)."""
        with self._lock:
            new = self._add_new()
            try:
                self._save()
            except OSError:
                del self._keys[new.id]
                raise
            return new

    def retire(self, in_use: set[str]) -> list[str]:
        """Remove every key but the current one that no row uses; returns their ids."""
        with self._lock:
            gone = [k for k in self._keys if k != self._current and k not in in_use]
            if not gone:
                return []
            kept = {k: v for k, v in self._keys.items() if k not in gone}
            old, self._keys = self._keys, kept
            try:
                self._save()
            except OSError:
                self._keys = old
                raise
            return gone

    def _add_new(self) -> DataKey:
        key = secrets.token_bytes(KEY_BYTES)
        new = DataKey(key_fingerprint(key), key, rfc3339(timespec="seconds"))
        self._keys[new.id] = new
        self._current = new.id
        return new

    def _save(self, *, exclusive: bool = False) -> None:
        doc = {
            "format": FORMAT,
            "current": self._current,
            "keys": [
                {"id": k.id, "key": base64.b64encode(k.key).decode(), "created": k.created}
                for k in self._keys.values()
            ],
        }
        data = (json.dumps(doc, indent=1) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        # Created 0600 with O_EXCL: the key never sits in a file others could open.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive and self.path.exists():
            tmp.unlink()
            raise DataKeyError(f"data key file {self.path} already exists")
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
