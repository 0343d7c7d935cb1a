"""Security: what keeps the device safe to hand to a field team.

Offers:
- the gate every call passes: `call_guarded` (role check, caller bound, outcome audited),
  `check_allowed` (the role check alone, for the socket's own methods);
- access: `AccessPolicy` (the `[access]` roles from SO_PEERCRED or the invoking user),
  `required_role`, `allows`, `refusal_message`, `current_caller` (who called the method
  running now), `set_current_caller`/`reset_current_caller` (the runtime's call path),
  `FORBIDDEN` (the JSON-RPC error code of a refused call);
- the part: `SecurityService` (audit trail, signed head, monitor, slot re-hash) and
  `audit_path`, `keys_dir`;
- the audit reader for tools and faces: `verify_log`, `read_records`, `iter_lines`,
  `parse_record`, `record_time`, `AuditFormatError`, `VerifyReport`,
  `load_public`, `DeviceKeyError`, `PUB_NAME`;
- `MONITOR_KINDS`: the kinds of security events;
- for tools and benchmarks: `AuditLog` (the writer), `DeviceKey` (the device's Ed25519 key);
- the kiosk PIN: `KioskPin` (the runtime's "kiosk" service: `kiosk.unlock`,
  `kiosk.set_pin`), `PinHash`, `hash_pin`, `check_pin_format`, `PinGuard`, `PinCheck`,
  `PinError`: a scrypt hash, with exponential backoff and lockout after too many wrong PINs;
- `SdNotifier`: systemd readiness and watchdog notifications (the documented NOTIFY_SOCKET
  protocol); the daemon pings from its event loop, so a hung loop is restarted.

- encryption at rest: `DataKeyring`, `DataKeyError` (the device data key file, 0600, outside
  the database, with rotation and the retirement of keys no row needs); `OutboxCipher`,
  `SealError`, `MissingKey` (AES-256-GCM sealing under that key: the store knows it only as
  its `PayloadCipher` protocol, handed in by the runtime) and `outbox_cipher(store_config,
  state_dir)`, which makes or reads the key file as `[store]` says;
- signed remote commands: `RemoteCommands` (the part that verifies signed commands from
  devices/<id>/commands, runs them one at a time and reports their states on
  devices/<id>/commands/result); `CommandRefused`, `Verifier`, `parse_command`,
  `verify_command`,
  `sign_command`, `SUPPORTED` (the command document and its Ed25519 signature; the
  operator side uses them in `edgetui command sign|send`);
- Ed25519 key files, for OTA release keys and command keys alike: `generate_keypair`,
  `load_private_key`, `load_public_key`, `raw_public_bytes`, `key_id`.

Modules: `access`, `gate`, `audit` (the writer), `audit_reader`, `device_key`, `monitor`,
`service`, `pin`, `kiosk`, `sd_notify`, `data_key`, `sealing`, `keys`, `commands`,
`replay`, `remote`. Other parts and faces import only these names.
"""

from edgetui.security.access import (
    FORBIDDEN,
    AccessPolicy,
    allows,
    current_caller,
    refusal_message,
    required_role,
    reset_current_caller,
    set_current_caller,
)
from edgetui.security.audit import AuditLog
from edgetui.security.audit_reader import (
    AuditFormatError,
    VerifyReport,
    iter_lines,
    parse_record,
    read_records,
    record_time,
    verify_log,
)
from edgetui.security.commands import (
    SUPPORTED,
    CommandRefused,
    Verifier,
    parse_command,
    sign_command,
    verify_command,
)
from edgetui.security.data_key import DataKeyError, DataKeyring
from edgetui.security.device_key import PUB_NAME, DeviceKey, DeviceKeyError, load_public
from edgetui.security.gate import call_guarded, check_allowed
from edgetui.security.keys import (
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    raw_public_bytes,
)
from edgetui.security.kiosk import KioskPin
from edgetui.security.monitor import KINDS as MONITOR_KINDS
from edgetui.security.pin import (
    PinCheck,
    PinError,
    PinGuard,
    PinHash,
    check_pin_format,
    hash_pin,
)
from edgetui.security.remote import RemoteCommands
from edgetui.security.sd_notify import SdNotifier
from edgetui.security.sealing import MissingKey, OutboxCipher, SealError, outbox_cipher
from edgetui.security.service import SecurityService, audit_path, keys_dir

__all__ = [
    "FORBIDDEN",
    "MONITOR_KINDS",
    "PUB_NAME",
    "SUPPORTED",
    "AccessPolicy",
    "AuditFormatError",
    "AuditLog",
    "CommandRefused",
    "DataKeyError",
    "DataKeyring",
    "DeviceKey",
    "DeviceKeyError",
    "KioskPin",
    "MissingKey",
    "OutboxCipher",
    "PinCheck",
    "PinError",
    "PinGuard",
    "PinHash",
    "RemoteCommands",
    "SdNotifier",
    "SealError",
    "SecurityService",
    "Verifier",
    "VerifyReport",
    "allows",
    "audit_path",
    "call_guarded",
    "check_allowed",
    "check_pin_format",
    "current_caller",
    "generate_keypair",
    "hash_pin",
    "iter_lines",
    "key_id",
    "keys_dir",
    "load_private_key",
    "load_public",
    "load_public_key",
    "outbox_cipher",
    "parse_command",
    "parse_record",
    "raw_public_bytes",
    "read_records",
    "record_time",
    "refusal_message",
    "required_role",
    "reset_current_caller",
    "set_current_caller",
    "sign_command",
    "verify_command",
    "verify_log",
]
