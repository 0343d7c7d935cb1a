"""Security: encryption at rest for the outbox and signed remote commands.

Offers, for the runtime and the faces:
- `DataKeyring`, `DataKeyError`: the device data key file (0600, outside the database),
  with rotation and the retirement of keys no row needs;
- `OutboxCipher`, `SealError`, `MissingKey`: AES-256-GCM sealing under that key (the
  store knows it only as its `PayloadCipher` protocol, handed in by the runtime), and
  `outbox_cipher(store_config, state_dir)`, which makes or reads the key file as `[store]`
  says;
- `RemoteCommands`: the part that verifies signed commands from devices/<id>/commands,
  runs them one at a time and reports their states on devices/<id>/commands/result;
- `CommandRefused`, `parse_command`, `verify_command`, `sign_command`, `SUPPORTED`,
  `STATES`, `load_signing_key`, `load_verify_key`, `key_id`: the command document and its
  Ed25519 signature (the operator side uses them in `edgetui command sign|send`).

- `ROLES_NEEDED`: the role the runtime methods of this part need beyond their default
  (for the control socket's access rules): decrypting an export, rotating the data key.

Modules: `data_key`, `sealing`, `signing`, `commands`, `replay`, `remote`.
"""

from edgetui.security.commands import (
    STATES,
    SUPPORTED,
    CommandRefused,
    parse_command,
    sign_command,
    verify_command,
)
from edgetui.security.data_key import DataKeyError, DataKeyring
from edgetui.security.remote import RemoteCommands
from edgetui.security.sealing import MissingKey, OutboxCipher, SealError, outbox_cipher
from edgetui.security.signing import key_id, load_signing_key, load_verify_key

# "method" or "method:param" -> the role it needs (the access rules live in sec-access).
ROLES_NEEDED = {"buffer.export:decrypt": "admin", "buffer.rotate_key": "admin"}

__all__ = [
    "ROLES_NEEDED",
    "STATES",
    "SUPPORTED",
    "CommandRefused",
    "DataKeyError",
    "DataKeyring",
    "MissingKey",
    "OutboxCipher",
    "RemoteCommands",
    "SealError",
    "key_id",
    "load_signing_key",
    "load_verify_key",
    "outbox_cipher",
    "parse_command",
    "sign_command",
    "verify_command",
]
