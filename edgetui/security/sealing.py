"""AES-256-GCM sealing of outbox payloads under the device data key (`data_key.py`).

A sealed payload is one blob:

    b"\\xe5\\x01" | key id (8 bytes) | nonce (12 bytes, random) | ciphertext | tag (16 bytes)

The caller supplies the associated data (the outbox binds each row's seq, class and time
to it), so a sealed payload copied into another row, or a row whose seq, class or time
was edited, no longer opens. Nonces are random: a key seals at most 2^32 rows before it
should be rotated (`edgetui buffer rotate-key`); a device sending one message a second
takes a century to get there.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edgetui.security.data_key import DataKeyring

MAGIC = b"\xe5\x01"
ID_BYTES = 8
NONCE_BYTES = 12
HEADER = len(MAGIC) + ID_BYTES + NONCE_BYTES
TAG_BYTES = 16


class SealError(ValueError):
    """A payload cannot be opened: its key is not in the key file, or it was altered or
    moved. The message is one line and names the key."""


class MissingKey(SealError):
    """The row was sealed under a key the key file does not hold (a lost or replaced file)."""


class OutboxCipher:
    """Seals and opens payloads with the keyring's keys; safe to share between threads."""

    def __init__(self, ring: DataKeyring) -> None:
        self.ring = ring
        self._aead: dict[str, AESGCM] = {}  # one AESGCM per key: its setup is not free
        self._lock = threading.Lock()

    @property
    def key_id(self) -> str:
        """The id of the key that seals new payloads."""
        return self.ring.current.id

    @property
    def key_file(self) -> str:
        return str(self.ring.path)

    def _aead_for(self, key_id: str) -> AESGCM:
        aead = self._aead.get(key_id)
        if aead is None:
            key = self.ring.get(key_id)
            if key is None:
                raise MissingKey(
                    f"sealed under data key {key_id}, which {self.ring.path} does not hold "
                    "(a lost or replaced key file?)"
                )
            aead = AESGCM(key.key)
            with self._lock:
                self._aead[key_id] = aead
        return aead

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate `plaintext`, binding `aad` to it."""
        kid = self.ring.current.id
        nonce = os.urandom(NONCE_BYTES)
        return (
            MAGIC + bytes.fromhex(kid) + nonce + self._aead_for(kid).encrypt(nonce, plaintext, aad)
        )

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """The plaintext of a sealed payload; SealError when it cannot be opened."""
        kid = self.key_of(blob)
        if len(blob) < HEADER + TAG_BYTES:
            raise SealError(f"is cut short ({len(blob)} bytes, sealed under data key {kid})")
        try:
            return self._aead_for(kid).decrypt(
                blob[len(MAGIC) + ID_BYTES : HEADER], blob[HEADER:], aad
            )
        except InvalidTag:
            raise SealError(
                f"does not authenticate under data key {kid} (altered, or moved from another row)"
            ) from None

    @staticmethod
    def key_of(blob: bytes) -> str:
        """The id of the key a blob (or its first 10 bytes) was sealed under; SealError
        when it does not start like a sealed payload."""
        if len(blob) < len(MAGIC) + ID_BYTES or blob[: len(MAGIC)] != MAGIC:
            raise SealError("is not a sealed payload (bad header)")
        return blob[len(MAGIC) : len(MAGIC) + ID_BYTES].hex()

    def has_key(self, key_id: str) -> bool:
        return self.ring.get(key_id) is not None

    def key_ids(self) -> list[str]:
        return self.ring.ids()

    def rotate(self) -> str:
        """A new current key; returns its id (older keys stay until `retire`)."""
        return self.ring.rotate().id

    def retire(self, in_use: set[str]) -> list[str]:
        """Drop the keys no row needs any more (never the current one)."""
        gone = self.ring.retire(in_use)
        with self._lock:
            for kid in gone:
                self._aead.pop(kid, None)
        return gone
