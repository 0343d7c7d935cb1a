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
  `parse_record`, `parse_since`, `record_time`, `AuditFormatError`, `VerifyReport`,
  `load_public`, `DeviceKeyError`, `PUB_NAME`;
- `MONITOR_KINDS`: the kinds of security events;
- for tools and benchmarks: `AuditLog` (the writer), `DeviceKey` (the device's Ed25519 key);
- the kiosk PIN: `KioskPin` (the runtime's "kiosk" service: `kiosk.unlock`,
  `kiosk.set_pin`), `PinHash`, `hash_pin`, `check_pin_format`, `PinGuard`, `PinCheck`,
  `PinError`: a scrypt hash, with exponential backoff and lockout after too many wrong PINs;
- `SdNotifier`: systemd readiness and watchdog notifications (the documented NOTIFY_SOCKET
  protocol); the daemon pings from its event loop, so a hung loop is restarted.

Modules: `access`, `gate`, `audit` (the writer), `audit_reader`, `device_key`, `monitor`,
`service`, `pin`, `kiosk`, `sd_notify`. Other parts and faces import only these names.
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
    parse_since,
    read_records,
    record_time,
    verify_log,
)
from edgetui.security.device_key import PUB_NAME, DeviceKey, DeviceKeyError, load_public
from edgetui.security.gate import call_guarded, check_allowed
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
from edgetui.security.sd_notify import SdNotifier
from edgetui.security.service import SecurityService, audit_path, keys_dir

__all__ = [
    "FORBIDDEN",
    "MONITOR_KINDS",
    "PUB_NAME",
    "AccessPolicy",
    "AuditFormatError",
    "AuditLog",
    "DeviceKey",
    "DeviceKeyError",
    "KioskPin",
    "PinCheck",
    "PinError",
    "PinGuard",
    "PinHash",
    "SdNotifier",
    "SecurityService",
    "VerifyReport",
    "allows",
    "audit_path",
    "call_guarded",
    "check_allowed",
    "check_pin_format",
    "current_caller",
    "hash_pin",
    "iter_lines",
    "keys_dir",
    "load_public",
    "parse_record",
    "parse_since",
    "read_records",
    "record_time",
    "refusal_message",
    "required_role",
    "reset_current_caller",
    "set_current_caller",
    "verify_log",
]
