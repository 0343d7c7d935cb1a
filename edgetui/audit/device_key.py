"""The device's own Ed25519 key: signs the audit trail's head.

Made on first use in `<state>/keys/device.key` (0600, PEM) with `device.pub` beside it; the
public half is what an investigator needs to check a copied audit log
(`edgetui audit verify --key device.pub`). A device with a TPM or secure element would keep
the private half there; this one keeps it in the state directory, readable by the daemon only.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edgetui.durable import fsync_dir
from edgetui.keys import key_id

KEY_NAME, PUB_NAME = "device.key", "device.pub"


class DeviceKeyError(Exception):
    """The device key is unreadable or not an Ed25519 key (one line, names the file)."""


def load_public(path: Path) -> Ed25519PublicKey:
    """A device.pub (PEM) file; DeviceKeyError when it is not one."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise DeviceKeyError(f"{path}: not a readable Ed25519 public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise DeviceKeyError(f"{path}: not an Ed25519 public key")
    return key


def verify(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
        return True
    except InvalidSignature:
        return False


class DeviceKey:
    """The private device key (loaded, or made once and kept 0600)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> DeviceKey:
        """Load `keys_dir/device.key`, or make the pair when there is none (blocking I/O)."""
        keys_dir = Path(keys_dir)
        path = keys_dir / KEY_NAME
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (OSError, ValueError) as exc:
                raise DeviceKeyError(f"{path}: not a readable Ed25519 key: {exc}") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise DeviceKeyError(f"{path}: not an Ed25519 private key")
            return cls(key)
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: two processes starting at once cannot both write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (keys_dir / PUB_NAME).write_bytes(pub)
        fsync_dir(keys_dir)
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)
