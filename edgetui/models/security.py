"""Who called, and what the security monitor saw: the records the security part keeps,
puts in the audit trail and shows in the `security` status section."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from edgetui.models.serde import OMIT_NONE

ROLES = ("none", "viewer", "operator", "admin")  # in increasing power
VIAS = ("cli", "tui", "kiosk", "remote", "daemon", "socket")


def role_rank(role: str) -> int:
    """The power of a role (an unknown name ranks as "none")."""
    return ROLES.index(role) if role in ROLES else 0


@dataclass
class Caller:
    """The peer of a call: its uid/gid from the kernel (SO_PEERCRED, or the process itself
    when standalone), the role the `[access]` policy gives it, and how it came in.

    `via` is what the client said it is (cli, tui, kiosk) or what the runtime knows (remote,
    daemon); only uid, gid and pid are vouched for by the kernel. `key_id` names the signing
    key of a remote command."""

    uid: int
    gid: int
    user: str
    role: str
    via: str = "socket"
    pid: int | None = None
    groups: list[int] = field(default_factory=list)
    key_id: str | None = None

    def who(self) -> dict[str, object]:
        """The `who` part of an audit record."""
        out: dict[str, object] = {
            "uid": self.uid,
            "user": self.user,
            "role": self.role,
            "via": self.via,
            "pid": self.pid,
        }
        if self.key_id is not None:
            out["key_id"] = self.key_id
        return out


@dataclass
class SecurityEvent:
    """One thing the runtime security monitor noticed (kept, counted and shown)."""

    kind: SecurityEventKind
    message: str  # one line, says what happened
    time: str
    who: dict[str, object] | None = None
    data: dict[str, object] = field(default_factory=dict)


class SecurityEventKind(StrEnum):
    """What the security monitor counts (`audit.MONITOR_KINDS` is this, in order)."""

    REFUSED_CALL = "refused_call"
    BAD_SIGNATURE = "bad_signature"
    WRONG_PIN = "wrong_pin"
    SLOT_TAMPERED = "slot_tampered"
    AUDIT_CHAIN_BROKEN = "audit_chain_broken"


@dataclass
class SlotCheck:
    """The booted slot re-hashed against the checksum recorded at install."""

    slot: str
    version: str | None = None
    expected: str = ""
    actual: str = ""
    ok: bool = False
    time: str = ""


@dataclass
class AuditCheck:
    """The whole audit chain (and its signed head) verified."""

    ok: bool
    records: int = 0
    problem: str | None = None
    time: str = ""


@dataclass
class SecurityChecks:
    """The latest result of each periodic check; a check not run yet is absent."""

    slot: SlotCheck | None = field(default=None, metadata=OMIT_NONE)
    audit: AuditCheck | None = field(default=None, metadata=OMIT_NONE)


@dataclass
class AuditAction:
    """One audited call in a few fields, for the dashboard's last actions."""

    seq: int | None = None
    time: str | None = None
    user: str | None = None
    via: str | None = None
    method: str | None = None
    ok: bool | None = None
    error: str | None = None


@dataclass
class AuditSummary:
    """The audit trail as the section shows it: size, signed head, errors, last actions."""

    # Defaults: a peer from before a field was added still decodes.
    path: str = ""
    records: int = 0
    appended: int = 0
    signed_seq: int = 0
    signed_at: str | None = None
    key_id: str | None = None
    errors: int = 0
    uplink_errors: int = 0
    suppressed: int = 0
    last_error: str | None = None
    last: list[AuditAction] = field(default_factory=list)


@dataclass
class SecuritySection:
    """The `security` section: the monitor's events (newest first) and counts, the checks,
    and the audit trail."""

    events: list[SecurityEvent]
    counts: dict[str, int]
    total: int
    checks: SecurityChecks
    audit: AuditSummary | None = field(default=None, metadata=OMIT_NONE)
