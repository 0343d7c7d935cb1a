"""Ed25519 keys, the one place they are made and read: a pair generated for the release side
or the operator (`edgetui keys generate`), either half loaded from PEM or 32 raw bytes, and
key ids. OTA manifests and signed remote commands use the same files and the same ids."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from edgetui.models.ids import key_fingerprint

RAW_KEY_LEN = 32
K = TypeVar("K", Ed25519PrivateKey, Ed25519PublicKey)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: never overwrite a key silently; the mode is set at creation, no window at 0644.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask may have masked bits off


def generate_keypair(prefix: Path) -> tuple[Path, Path]:
    """Write PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (PEM); refuse to overwrite."""
    prefix = Path(prefix)
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    for p in (key_path, pub_path):
        if p.exists():
            raise FileExistsError(f"{p} already exists; refusing to overwrite a key")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    priv = Ed25519PrivateKey.generate()
    _write_new(
        key_path,
        priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write_new(
        pub_path,
        priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        0o644,
    )
    return key_path, pub_path


# How each half of a key pair is read: from 32 raw bytes, from PEM, and what to call it in
# an error. One table, so the two halves cannot drift apart in what they accept.
_FORMS: dict[type, tuple[Callable[[bytes], object], Callable[[bytes], object], str]] = {
    Ed25519PrivateKey: (
        Ed25519PrivateKey.from_private_bytes,
        lambda data: serialization.load_pem_private_key(data, password=None),
        "an unencrypted PEM or raw Ed25519 private key",
    ),
    Ed25519PublicKey: (
        Ed25519PublicKey.from_public_bytes,
        serialization.load_pem_public_key,
        "a PEM or raw Ed25519 public key",
    ),
}


def _load_key(path: Path, kind: type[K]) -> K:
    """Load one half of an Ed25519 pair from PEM or 32 raw bytes; ValueError with a reason."""
    from_raw, from_pem, what = _FORMS[kind]
    data = Path(path).read_bytes()
    try:
        key = from_raw(data) if len(data) == RAW_KEY_LEN else from_pem(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: not {what}") from exc
    if not isinstance(key, kind):
        raise ValueError(f"{path}: not an Ed25519 key")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from PEM or 32 raw bytes; ValueError with a reason."""
    return _load_key(path, Ed25519PrivateKey)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load an Ed25519 public key from PEM or 32 raw bytes; ValueError with a reason."""
    return _load_key(path, Ed25519PublicKey)


def raw_public_bytes(pub: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pub: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Short id of a key: the first 16 hex digits of sha256 over the raw public key."""
    if isinstance(pub, Ed25519PrivateKey):
        pub = pub.public_key()
    return key_fingerprint(raw_public_bytes(pub))
