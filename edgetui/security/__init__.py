"""Security: who may do what on the control socket, the audit trail, runtime monitoring.

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
  `parse_record`, `parse_since`,
  `record_time`, `AuditFormatError`, `VerifyReport`, `load_public`, `DeviceKeyError`,
  `PUB_NAME`;
- `MONITOR_KINDS`: the kinds of security events;
- for tools and benchmarks: `AuditLog` (the writer), `DeviceKey` (the device's Ed25519 key).

Modules: `access`, `gate`, `audit` (the writer), `audit_reader`, `device_key`, `monitor`, `service`.
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
from edgetui.security.monitor import KINDS as MONITOR_KINDS
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
    "SecurityService",
    "VerifyReport",
    "allows",
    "audit_path",
    "call_guarded",
    "check_allowed",
    "current_caller",
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
