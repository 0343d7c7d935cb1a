"""The security part: the audit trail, the monitor and their periodic checks.

The runtime decides who may call what (`access`); this part records what happened
(`record_call`, `report`), signs the audit head from time to time, re-verifies the chain,
re-hashes the booted slot (through a hook the runtime hands in) and reports the
`security` status section. Methods: `access.whoami`, `audit.list`, `audit.verify`,
and `security.check` (run the checks now). Wrong kiosk PINs come from the kiosk PIN check
through the runtime (`Runtime.report_security`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.access import AccessPolicy, allowed_methods, current_caller
from edgetui.api import APIError
from edgetui.audit.device_key import PUB_NAME, DeviceKey, DeviceKeyError, load_public
from edgetui.audit.log import AuditLog, redact
from edgetui.audit.monitor import RateLimit, SecurityMonitor
from edgetui.audit.reader import record_time, verify_log
from edgetui.config import Config
from edgetui.models.security import VIAS, AuditAction, AuditSummary, Caller, SecuritySection
from edgetui.models.serde import to_dict
from edgetui.units import parse_since

log = logging.getLogger(__name__)

INVALID_PARAMS = -32602
LAST_IN_SECTION = 5
OTA_OUTCOMES = (
    "done",
    "awaiting_commit",
    "rolled_back",
    "failed",
)  # what a face may report about itself through the socket


def audit_path(config: Config, state_dir: Path) -> Path:
    """`[audit] path`, else `<state>/audit/audit.log`."""
    return Path(config.audit.path or Path(state_dir) / "audit" / "audit.log").expanduser()


def keys_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "keys"


def summary(rec: dict[str, Any]) -> AuditAction:
    """A record in a few fields, for the dashboard's last actions."""
    who, what, result = rec.get("who", {}), rec.get("what", {}), rec.get("result", {})
    return AuditAction(
        seq=rec.get("seq"),
        time=rec.get("time"),
        user=who.get("user"),
        via=who.get("via"),
        method=what.get("method"),
        ok=result.get("ok"),
        error=result.get("error"),
    )


def _result_of(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": True}
    if isinstance(value, dict):
        # A few scalar facts of the outcome, never the whole result (it may be large).
        for key in ("ok", "result", "state", "phase", "version", "slot", "restarting"):
            if isinstance(value.get(key), str | bool | int | float):
                out[key] = value[key]
    return out


class SecurityService:
    """The part. `outbox` and `ota` return the running outbox / OTA service or None (the
    runtime's getters: records go uplink through `outbox().enqueue("audit", ...)`, the slot
    re-hash is `ota().verify_booted_content()`); `method_names` lists the runtime's methods."""

    name = "security"

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        *,
        policy: AccessPolicy,
        notify: Callable[[str, dict[str, Any]], None],
        outbox: Callable[[], Any] = lambda: None,
        ota: Callable[[], Any] = lambda: None,
        method_names: Callable[[], list[str]] = list,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.policy = policy
        self.notify = notify
        self.outbox = outbox
        self.ota = ota
        self.method_names = method_names
        self.monitor = SecurityMonitor(config.security.events_kept, notify=notify)
        self.limit = RateLimit()
        self.log = AuditLog(audit_path(config, state_dir), device_id=config.device.id)
        self.key: DeviceKey | None = None
        self.last: deque[AuditAction] = deque(maxlen=LAST_IN_SECTION)
        self.uplink_errors = 0
        self.audit_errors = 0
        self.verified: dict[str, Any] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self.key = await asyncio.to_thread(DeviceKey.load_or_create, keys_dir(self.state_dir))
        except (DeviceKeyError, OSError) as exc:
            # The trail still chains; only the head goes unsigned (and the section says so).
            log.error("security: no device key, the audit head will not be signed: %s", exc)
        self.log.key = self.key
        await asyncio.to_thread(self.log.open)
        for rec in reversed(await asyncio.to_thread(self.log.last, LAST_IN_SECTION)):
            self.last.append(summary(rec))
        cfg = self.config
        for interval, fn, name in (
            (cfg.audit.sign_interval_s, self._sign, "audit-sign"),
            (cfg.audit.verify_interval_s, self.check_audit, "audit-verify"),
            (cfg.security.slot_check_interval_s, self.check_slot, "slot-rehash"),
        ):
            if interval > 0:
                self._tasks.append(asyncio.create_task(self._every(interval, fn), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in [*self._tasks, *self._pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self._sign()
        await asyncio.to_thread(self.log.close)

    async def _every(self, interval: float, fn: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await fn()
            except Exception:
                log.exception("security: periodic %s failed", getattr(fn, "__name__", fn))

    async def _sign(self) -> None:
        await asyncio.to_thread(self.log.sign_head)

    # -- recording --------------------------------------------------------------------
    async def append(
        self, who: dict[str, Any], what: dict[str, Any], result: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Append one record (fsynced) and queue it for uplink; None when the log failed."""
        try:
            rec = await asyncio.to_thread(self.log.append, who, what, result)
        except OSError as exc:
            self.audit_errors += 1
            self.log.last_error = f"cannot append to {self.log.path}: {exc.strerror}"
            log.error("audit: %s", self.log.last_error)
            return None
        self.last.append(summary(rec))
        outbox = self.outbox()
        if outbox is not None and self.config.audit.uplink:
            try:
                # The whole record (the receiver can check the chain) inside the outbox
                # message, whose own id and seq are the envelope's.
                await outbox.enqueue("audit", {"device_id": self.config.device.id, "record": rec})
            except Exception as exc:  # the outbox full or failing must not fail the action
                self.uplink_errors += 1
                log.warning("audit: record %d not queued for uplink: %s", rec["seq"], exc)
        return rec

    async def record_call(
        self,
        caller: Caller,
        method: str,
        params: dict[str, Any],
        *,
        result: Any = None,
        error: APIError | Exception | None = None,
    ) -> None:
        """Audit one call (its params without secrets) and its outcome."""
        if error is None:
            outcome = _result_of(result)
        else:
            outcome = {"ok": False, "error": str(error)[:300]}
            if isinstance(error, APIError):
                outcome["code"] = error.code
        await self.append(caller.who(), {"method": method, "params": redact(params)}, outcome)

    async def refused(
        self, caller: Caller, method: str, params: dict[str, Any], needed: str, message: str
    ) -> None:
        """A call the caller's role may not make: audited, and a security event."""
        if not self.limit.allow(caller.uid):
            self.monitor.counts["refused_call"] += 1
            return
        self.monitor.report(
            "refused_call",
            message,
            who=caller.who(),
            data={"method": method[:100], "needed_role": needed},
        )
        await self.append(
            caller.who(),
            {"method": method[:100], "params": redact(params)},
            {"ok": False, "error": message, "refused": True, "needed_role": needed},
        )

    def report(
        self,
        kind: str,
        message: str,
        *,
        caller: Caller | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """The hook other parts call (a bad command signature, a wrong PIN, ...): keeps the
        event and audits it. Safe to call from any thread and from sync code."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            loop.call_soon_threadsafe(lambda: self.report(kind, message, caller=caller, data=data))
            return
        key = (kind, caller.uid, caller.key_id) if caller is not None else (kind,)
        if kind in self.monitor.counts and not self.limit.allow(key):
            self.monitor.counts[kind] += 1  # a flood (bad commands, PIN guessing): counted only
            return
        who = caller.who() if caller is not None else None
        self.monitor.report(kind, message, who=who, data=data)
        self._spawn_append(
            who or AccessPolicy.daemon().who(),
            {"method": f"security.{kind}", "params": redact(data or {})},
            {"ok": False, "error": message[:300]},
        )

    def observe(self, kind: str, data: dict[str, Any]) -> None:
        """A runtime notification: the end of an OTA run (committed, awaiting commit, rolled
        back, failed) is a mutating action of the device's own, audited as `via: daemon`
        with the call it followed from, if any (`cause`)."""
        if kind != "ota.progress" or data.get("phase") not in OTA_OUTCOMES or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop:  # from a worker thread: hop onto the loop
            self._loop.call_soon_threadsafe(self.observe, kind, dict(data))
            return
        cause = current_caller()
        params: dict[str, Any] = {"phase": data.get("phase")}
        if cause is not None and cause.via != "daemon":
            params["cause"] = {"user": cause.user, "uid": cause.uid, "via": cause.via}
        ok = data.get("phase") in ("done", "awaiting_commit")
        result = {"ok": ok, "message": str(data.get("message") or "")[:300]}
        self._spawn_append(
            AccessPolicy.daemon().who(), {"method": "ota.outcome", "params": params}, result
        )

    def _spawn_append(
        self, who: dict[str, Any], what: dict[str, Any], result: dict[str, Any]
    ) -> None:
        assert self._loop is not None
        task = self._loop.create_task(self.append(who, what, result))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # -- checks -----------------------------------------------------------------------
    async def check_slot(self) -> dict[str, Any] | None:
        """Re-hash the booted slot against its recorded checksum."""
        ota = self.ota()
        if ota is None:
            return None
        result = await ota.verify_booted_content()
        if result is None:
            return None
        self.monitor.set_slot_check(result)
        if not result.get("ok"):
            self.report(
                "slot_tampered",
                f"slot {result.get('slot')} ({result.get('version')}) no longer matches its "
                f"recorded checksum: changed after install",
                data={k: result.get(k) for k in ("slot", "version", "expected", "actual")},
            )
        return result

    async def check_audit(self) -> dict[str, Any]:
        """Verify the whole chain (and the signed head) in a thread."""
        pub = None
        with contextlib.suppress(DeviceKeyError):
            pub = self.key.public if self.key else load_public(keys_dir(self.state_dir) / PUB_NAME)
        report = await asyncio.to_thread(verify_log, self.log.path, pub)
        result = to_dict(report)
        self.verified = result
        problem = report.problem.message if report.problem else None
        self.monitor.set_audit_check(report.ok, report.records, problem)
        if not report.ok:
            self.report("audit_chain_broken", f"audit trail fails to verify: {problem}")
        return result

    # -- status and methods -----------------------------------------------------------
    def section(self) -> SecuritySection:
        sec = self.monitor.section()
        sec.audit = AuditSummary(
            path=str(self.log.path),
            records=self.log.last_seq,
            appended=self.log.appended,
            signed_seq=self.log.signed_seq,
            signed_at=self.log.signed_at,
            key_id=self.key.key_id if self.key else None,
            errors=self.audit_errors,
            uplink_errors=self.uplink_errors,
            suppressed=self.limit.suppressed,
            last_error=self.log.last_error,
            last=list(reversed(self.last)),
        )
        return sec

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "access.whoami": self.m_whoami,
            "audit.list": self.m_list,
            "audit.verify": self.m_verify,
            "security.check": self.m_check,
        }

    async def m_whoami(self, params: dict[str, Any]) -> dict[str, Any]:
        """The caller as the daemon sees it; `via` (cli, tui, kiosk) labels the connection."""
        caller = current_caller()
        if caller is None:
            raise APIError("no caller", code=INVALID_PARAMS)
        via = params.get("via")
        if via is not None:
            if via not in ("cli", "tui", "kiosk"):
                raise APIError("access.whoami: via must be cli, tui or kiosk", INVALID_PARAMS)
            if caller.via in VIAS and caller.via not in ("remote", "daemon"):
                caller.via = via
        return {
            **caller.who(),
            "gid": caller.gid,
            "groups": caller.groups,
            "allowed": allowed_methods(caller.role, self.method_names()),
        }

    async def m_list(self, params: dict[str, Any]) -> dict[str, Any]:
        since = params.get("since")
        limit = params.get("limit", 100)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise APIError("audit.list: limit must be an integer >= 1", INVALID_PARAMS)
        try:
            after = parse_since(since) if isinstance(since, str) else None
        except ValueError as exc:
            raise APIError(str(exc), INVALID_PARAMS) from None

        def read() -> list[dict[str, Any]]:
            out = []
            for rec in self.log.last(limit if after is None else 10_000):
                t = record_time(rec)
                if after is not None and (t is None or t < after):
                    break
                out.append(rec)
            return list(reversed(out[:limit]))

        return {"records": await asyncio.to_thread(read)}

    async def m_verify(self, _: dict[str, Any]) -> dict[str, Any]:
        return await self.check_audit()

    async def m_check(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"slot": await self.check_slot(), "audit": await self.check_audit()}
