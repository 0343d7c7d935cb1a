"""AES-256-GCM sealing of outbox payloads under the device data key (`data_key.py`).

A sealed payload is one blob:

    b"\\xe5\\x01" | key id (8 bytes) | nonce (12 bytes, random) | ciphertext | tag (16 bytes)

The caller supplies the associated data (the outbox binds each row's seq, class and time
to it), so a sealed payload copied into another row, or a row whose seq, class or time
was edited, no longer opens.

Nonces follow NIST SP 800-38D's deterministic construction: a random 8-byte field drawn
when the cipher is made (each process start, each rotation) and a 4-byte counter; the
field is drawn again before the counter wraps. A nonce repeats under one key only if two
processes draw the same 64-bit field, which takes about 2^32 process starts per key.
(A counter, not 12 random bytes per row: a `getrandom` call per row was a fifth of the
cost of sealing one.) A batch (`seal_many`) takes its counters in one step under the lock,
with the key they go with, so a rotation cannot pair a new key with an old field.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgetui.config import StoreConfig
from edgetui.sealing.data_key import DataKeyring

log = logging.getLogger("edgetui.sealing")

MAGIC = b"\xe5\x01"
ID_BYTES = 8
NONCE_BYTES = 12
FIELD_BYTES = NONCE_BYTES - 4  # the random field; the rest is the counter
HEAD = len(MAGIC) + ID_BYTES  # names the key
HEADER = HEAD + NONCE_BYTES
TAG_BYTES = 16
COUNTERS = 1 << 32  # nonces per field
_NONCE = struct.Struct(f">{FIELD_BYTES}sI").pack  # field | counter (big-endian)


class SealError(ValueError):
    """A payload cannot be opened: its key is not in the key file, or it was altered or
    moved. The message is one line and names the key."""


class MissingKey(SealError):
    """The row was sealed under a key the key file does not hold (a lost or replaced file)."""


class OutboxCipher:
    """Seals and opens payloads with the keyring's keys; safe to share between threads.

    It sits on the outbox's hot paths (every enqueue, every drained row), so the AESGCM
    objects are kept by the 10-byte blob header they answer to: opening a row is one dict
    lookup and one decrypt."""

    def __init__(self, ring: DataKeyring) -> None:
        self.ring = ring
        self._by_head: dict[bytes, AESGCM] = {}
        self._lock = threading.Lock()  # the current key, the nonce field and counter
        self._current = self._load_current()
        self._field = os.urandom(FIELD_BYTES)
        self._next = 0  # the next nonce counter under the current field

    def _reserve(self, n: int) -> tuple[bytes, AESGCM, bytes, int]:
        """The current key (header, cipher), and `n` unused nonces under it: the field and
        the first counter. One step under the lock per batch, not one per row."""
        if not 0 < n <= COUNTERS:
            raise ValueError(f"cannot seal {n} payloads at once")
        with self._lock:
            start = self._next
            if start + n > COUNTERS:  # a fresh field before the counter would wrap
                self._field = os.urandom(FIELD_BYTES)
                start = 0
            self._next = start + n
            head, aead = self._current
            return head, aead, self._field, start

    def _load_current(self) -> tuple[bytes, AESGCM]:
        key = self.ring.current
        head = MAGIC + bytes.fromhex(key.id)
        aead = AESGCM(key.key)
        with self._lock:
            self._by_head[head] = aead
        return head, aead

    @property
    def key_id(self) -> str:
        """The id of the key that seals new payloads."""
        return self._current[0][len(MAGIC) :].hex()

    @property
    def key_file(self) -> str:
        return str(self.ring.path)

    def _aead_for(self, head: bytes) -> AESGCM:
        aead = self._by_head.get(head)
        if aead is None:
            kid = self.key_of(head)
            key = self.ring.get(kid)
            if key is None:
                raise MissingKey(
                    f"sealed under data key {kid}, which {self.ring.path} does not hold "
                    "(a lost or replaced key file?)"
                )
            aead = AESGCM(key.key)
            with self._lock:
                self._by_head[head] = aead
        return aead

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate `plaintext`, binding `aad` to it."""
        head, aead, field, n = self._reserve(1)
        nonce = _NONCE(field, n)
        return head + nonce + aead.encrypt(nonce, plaintext, aad)

    def seal_many(self, plaintexts: Sequence[bytes], aads: Sequence[bytes]) -> list[bytes]:
        """`seal` for a batch (plaintext i bound to aads[i]): the key and the nonces are
        taken once for the batch, and the loop does nothing else per row."""
        if not plaintexts:
            return []
        head, aead, field, start = self._reserve(len(plaintexts))
        encrypt = aead.encrypt
        return [
            head + (nonce := _NONCE(field, n)) + encrypt(nonce, plaintext, aad)
            for n, plaintext, aad in zip(
                range(start, start + len(plaintexts)), plaintexts, aads, strict=True
            )
        ]

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """The plaintext of a sealed payload; SealError when it cannot be opened."""
        # The drain's hot path: one lookup, one decrypt; the checks run on failure only.
        aead = self._by_head.get(blob[:HEAD]) or self._aead_for(blob[:HEAD])
        try:
            return aead.decrypt(blob[HEAD:HEADER], blob[HEADER:], aad)
        except (InvalidTag, ValueError):
            kid = self.key_of(blob)
            if len(blob) < HEADER + TAG_BYTES:
                raise SealError(f"is cut short ({len(blob)} bytes, data key {kid})") from None
            raise SealError(
                f"does not authenticate under data key {kid} (altered, or moved from another row)"
            ) from None

    @staticmethod
    def key_of(blob: bytes) -> str:
        """The id of the key a blob (or its first 10 bytes) was sealed under; SealError
        when it does not start like a sealed payload."""
        if len(blob) < HEAD or blob[: len(MAGIC)] != MAGIC:
            raise SealError("is not a sealed payload (bad header)")
        return blob[len(MAGIC) : HEAD].hex()

    def has_key(self, key_id: str) -> bool:
        return self.ring.get(key_id) is not None

    def key_ids(self) -> list[str]:
        return self.ring.ids()

    def rotate(self) -> str:
        """A new current key; returns its id (older keys stay until `retire`)."""
        new = self.ring.rotate().id
        current = self._load_current()
        with self._lock:
            self._current = current
            self._field = os.urandom(FIELD_BYTES)
            self._next = 0
        return new

    def retire(self, in_use: set[str]) -> list[str]:
        """Drop the keys no row needs any more (never the current one)."""
        gone = self.ring.retire(in_use)
        with self._lock:
            for head in [h for h in self._by_head if h[len(MAGIC) :].hex() in gone]:
                del self._by_head[head]
        return gone


def outbox_cipher(config: StoreConfig, state_dir: Path) -> OutboxCipher | None:
    """The outbox's cipher, as `[store]` asks: the key file is made on first use when
    `encrypt` is on, and read (to open rows sealed earlier) when it is off but the file
    exists; None: no key, payloads in clear. DataKeyError when the file is unusable."""
    key_file = Path(config.key_file or Path(state_dir) / "keys" / "outbox.key").expanduser()
    if config.encrypt:
        ring, created = DataKeyring.open_or_create(key_file)
        if created:
            log.info("outbox: new data key %s in %s", ring.current.id, key_file)
    elif key_file.exists():
        ring = DataKeyring.load(key_file)
    else:
        return None
    return OutboxCipher(ring)
