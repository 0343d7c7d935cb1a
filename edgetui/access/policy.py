"""Roles on the control socket: who the peer is (SO_PEERCRED) and what its role may call.

Like polkit's rules or sudoers, the policy maps users and groups (names or numeric ids) to a
role; the first role that matches, from the most powerful down, wins; anyone else gets
`[access] default_role`. Methods map to the least role that may call them; a method not in
the table needs `admin` (deny by default: a new method is admin-only until it is listed).
"""

from __future__ import annotations

import contextvars
import fnmatch
import grp
import os
import pwd
import socket
import struct
from collections.abc import Iterable
from typing import Any

from edgetui.config import AccessConfig
from edgetui.models.security import ROLES, Caller, role_rank

FORBIDDEN = -32003  # JSON-RPC server error: the caller's role may not call this method

# The least role per method (fnmatch patterns, first match wins). Reading is `viewer`;
# operating the device is `operator`; everything else (unknown, future) is `admin`.
METHOD_ROLES: tuple[tuple[str, str], ...] = (
    ("status", "viewer"),
    ("methods", "viewer"),
    ("subscribe", "viewer"),
    ("unsubscribe", "viewer"),
    ("access.whoami", "viewer"),
    ("bus.history", "viewer"),
    ("*.status", "viewer"),
    ("ota.history", "viewer"),
    ("buffer.stats", "viewer"),
    ("audit.list", "viewer"),
    ("audit.verify", "viewer"),
    ("kiosk.unlock", "viewer"),  # the kiosk screen asks for actions; the PIN is the check
    ("alerts.list", "viewer"),
    ("alerts.history", "viewer"),
    ("alerts.rules", "viewer"),
    ("validate.last", "viewer"),
    ("doctor.report", "viewer"),
    ("ota.check", "operator"),
    ("ota.apply", "operator"),
    ("ota.rollback", "operator"),
    ("ota.commit", "operator"),
    ("buffer.flush", "operator"),
    ("buffer.retry", "operator"),
    ("buffer.export", "operator"),
    ("agents.restart", "operator"),
    ("security.check", "operator"),
    ("bus.publish", "operator"),
    ("alerts.ack", "operator"),
    ("alerts.silence", "operator"),
    ("alerts.unsilence", "operator"),
    ("alerts.drill", "operator"),
    ("drill", "operator"),
    ("drill.*", "operator"),
    ("drills.*", "operator"),
    ("validate", "operator"),
    ("validate.*", "operator"),
)
# A truthy param that raises the role a call needs: reading the outbox in clear is admin's.
PARAM_ROLES: dict[tuple[str, str], str] = {("buffer.export", "decrypt"): "admin"}

_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "edgetui_caller", default=None
)


def current_caller() -> Caller | None:
    """The caller of the runtime method running now (None outside a call).

    Set by the runtime around each call, so a method can ask who called it (the outbox
    export asks before decrypting) without a parameter for it."""
    return _current.get()


def set_current_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    """Bind the caller for the current task (the runtime's call path); reset with the token."""
    return _current.set(caller)


def reset_current_caller(token: contextvars.Token[Caller | None]) -> None:
    _current.reset(token)


def required_role(method: str, params: dict[str, Any] | None = None) -> str:
    """The least role that may call `method` with `params`."""
    role = "admin"
    for pattern, needed in METHOD_ROLES:
        if fnmatch.fnmatchcase(method, pattern):
            role = needed
            break
    for (name, param), needed in PARAM_ROLES.items():
        if name == method and params and params.get(param):
            role = needed if role_rank(needed) > role_rank(role) else role
    return role


def allows(role: str, method: str, params: dict[str, Any] | None = None) -> bool:
    """True when `role` may call `method` with `params`."""
    return role_rank(role) >= role_rank(required_role(method, params)) and role != "none"


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def proc_groups(pid: int) -> list[int] | None:
    """A live process's supplementary groups from /proc (what it really holds now)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Groups:"):
                    return [int(g) for g in line.split()[1:]]
    except (OSError, ValueError):
        return None
    return None


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of a Unix socket's peer, as the kernel recorded them at connect."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


class AccessPolicy:
    """`[access]`: users and groups per role; resolves a peer to a Caller with its role."""

    def __init__(self, config: AccessConfig) -> None:
        self.config = config

    def role_of(self, uid: int, gid: int, groups: Iterable[int] = ()) -> str:
        """The role of a user: admin, then operator, then viewer; else default_role."""
        user = user_name(uid)
        gids = {gid, *groups}
        group_names = {_group_name(g) for g in gids} | {str(g) for g in gids}
        for role in ("admin", "operator", "viewer"):
            users = set(getattr(self.config, f"{role}_users"))
            if user in users or str(uid) in users:
                return role
            if group_names & set(getattr(self.config, f"{role}_groups")):
                return role
        return self.config.default_role

    def caller(
        self,
        uid: int,
        gid: int,
        *,
        pid: int | None = None,
        groups: Iterable[int] | None = None,
        via: str = "socket",
    ) -> Caller:
        """A Caller for these credentials. Supplementary groups come from /proc/<pid>
        when not given (the groups the process holds, as polkit sees them), else from the
        group database."""
        user = user_name(uid)
        if groups is None:
            groups = proc_groups(pid) if pid else None
        if groups is None:
            try:
                groups = os.getgrouplist(user, gid)
            except (KeyError, OSError):
                groups = []
        gl = sorted(set(groups))
        return Caller(
            uid=uid,
            gid=gid,
            user=user,
            role=self.role_of(uid, gid, gl),
            via=via,
            pid=pid,
            groups=gl,
        )

    def peer(self, sock: socket.socket) -> Caller:
        """The Caller at the other end of a control-socket connection; a peer whose
        credentials cannot be read gets no role at all (deny by default)."""
        try:
            pid, uid, gid = peer_credentials(sock)
        except (OSError, AttributeError, struct.error):
            pid, uid, gid = 0, -1, -1
        if uid < 0 or pid <= 0:  # the kernel had no credentials for this peer
            return Caller(uid=-1, gid=-1, user="unknown", role="none")
        return self.caller(uid, gid, pid=pid)

    def local(self, via: str) -> Caller:
        """This process's own user (standalone mode runs with the invoking user's role)."""
        return self.caller(
            os.getuid(), os.getgid(), pid=os.getpid(), groups=os.getgroups(), via=via
        )

    @staticmethod
    def remote(key_id: str, role: str = "operator") -> Caller:
        """A signed remote command: authorised by its key, recorded with the key id."""
        return Caller(uid=-1, gid=-1, user="remote", role=role, via="remote", key_id=key_id)

    @staticmethod
    def daemon() -> Caller:
        """The runtime acting on its own (checks, scheduled work)."""
        return Caller(
            uid=os.getuid(),
            gid=os.getgid(),
            user=user_name(os.getuid()),
            role="admin",
            via="daemon",
            pid=os.getpid(),
        )


def refusal_message(caller: Caller, method: str, needed: str) -> str:
    """The one line a refused caller reads."""
    return (
        f"{method} needs the {needed} role; {caller.user} (uid {caller.uid}) has the "
        f"{caller.role} role (see [access] in the config)"
    )


def allowed_methods(role: str, methods: Iterable[str]) -> list[str]:
    """The subset of `methods` that `role` may call (without params that raise the role)."""
    return sorted(m for m in methods if allows(role, m))


__all__ = ["FORBIDDEN", "ROLES", "AccessPolicy", "current_caller"]
