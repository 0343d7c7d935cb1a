"""Signing keys: Ed25519 key files for OTA releases and remote commands alike.

Offers `generate_keypair`, `load_private_key`, `load_public_key`, `raw_public_bytes` and
`key_id` (the key's short id, `models.ids.key_fingerprint` of its raw public bytes).

Modules: `ed25519` (the key files).
"""

from edgetui.keys.ed25519 import (
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    raw_public_bytes,
)

__all__ = ["generate_keypair", "key_id", "load_private_key", "load_public_key", "raw_public_bytes"]
