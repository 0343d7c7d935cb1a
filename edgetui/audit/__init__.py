"""Audit: the device's tamper-evident record of what was done, and its security monitor.

Offers the part, `SecurityService` (the runtime's "security" service and snapshot section:
the hash-chained audit trail with its signed head, the monitor of security events, the
periodic slot re-hash), `audit_path`, `keys_dir`; the reader for tools and faces:
`verify_log`, `read_records`, `select_records`, `iter_lines`, `parse_record`, `record_time`,
`AuditFormatError`, `VerifyReport`, `load_public`, `DeviceKeyError`, `PUB_NAME`;
`MONITOR_KINDS`, the kinds of security events; and for tools and benchmarks `AuditLog` (the
writer) and `DeviceKey` (the device's Ed25519 key, which signs the audit head).

Modules: `log` (the writer), `reader`, `device_key`, `monitor`, `service`.
"""

from edgetui.audit.device_key import PUB_NAME, DeviceKey, DeviceKeyError, load_public
from edgetui.audit.log import AuditLog
from edgetui.audit.monitor import KINDS as MONITOR_KINDS
from edgetui.audit.reader import (
    AuditFormatError,
    VerifyReport,
    iter_lines,
    parse_record,
    read_records,
    record_time,
    select_records,
    verify_log,
)
from edgetui.audit.service import SecurityService, audit_path, keys_dir

__all__ = [
    "MONITOR_KINDS",
    "PUB_NAME",
    "AuditFormatError",
    "AuditLog",
    "DeviceKey",
    "DeviceKeyError",
    "SecurityService",
    "VerifyReport",
    "audit_path",
    "iter_lines",
    "keys_dir",
    "load_public",
    "parse_record",
    "read_records",
    "record_time",
    "select_records",
    "verify_log",
]
