"""Who called, and what the security monitor saw: the records the security part keeps,
puts in the audit trail and shows in the `security` status section."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    kind: str  # refused_call | bad_signature | wrong_pin | slot_tampered | audit_chain_broken
    message: str  # one line, says what happened
    time: str
    who: dict[str, object] | None = None
    data: dict[str, object] = field(default_factory=dict)
