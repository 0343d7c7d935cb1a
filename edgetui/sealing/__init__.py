"""Encryption at rest, beside the store: payloads sealed before they reach the disk.

Offers `DataKeyring`, `DataKeyError` (the device data key file, 0600, outside the database,
with rotation and the retirement of keys no row needs); `OutboxCipher`, `SealError`,
`MissingKey` (AES-256-GCM sealing under that key; the store knows it only as its
`PayloadCipher` protocol, handed in by the runtime) and `outbox_cipher(store_config,
state_dir)`, which makes or reads the key file as `[store]` says.

Modules: `data_key` (the key ring), `cipher` (the sealing).
"""

from edgetui.sealing.cipher import MissingKey, OutboxCipher, SealError, outbox_cipher
from edgetui.sealing.data_key import DataKeyError, DataKeyring

__all__ = [
    "DataKeyError",
    "DataKeyring",
    "MissingKey",
    "OutboxCipher",
    "SealError",
    "outbox_cipher",
]
