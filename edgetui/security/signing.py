"""Ed25519 keys for signed commands: load either half (PEM or raw 32 bytes) and name a key.

The formats and the key id are those of `edgetui keys generate` (the OTA release keys): the
same .key/.pub files work for both, and a key id is the first 16 hex digits of sha256 over
the raw public key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

RAW_KEY_LEN = 32


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM or 32 raw bytes; ValueError naming the file."""
    data = Path(path).read_bytes()
    try:
        key = (
            Ed25519PrivateKey.from_private_bytes(data)
            if len(data) == RAW_KEY_LEN
            else serialization.load_pem_private_key(data, password=None)
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not an unencrypted PEM or raw Ed25519 private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key


def load_verify_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM or 32 raw bytes; ValueError naming the file."""
    data = Path(path).read_bytes()
    try:
        key = (
            Ed25519PublicKey.from_public_bytes(data)
            if len(data) == RAW_KEY_LEN
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not a PEM or raw Ed25519 public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """16 hex digits of sha256 over the raw public key."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
