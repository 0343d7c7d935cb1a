"""OtaService ("ota"): boots the right slot, checks for and applies updates, runs the trial
health check, commits or rolls back, and reports all of it as the "ota" section.

The runtime builds it first: `start()` is the bootloader (it may roll back and move
`slots/current`) and runs before inference and agents load from the slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.api import APIError
from edgetui.config import Config
from edgetui.faults import fault_point
from edgetui.models.ota import OtaState
from edgetui.models.serde import to_dict
from edgetui.ota.boot import boot, commit, roll_back
from edgetui.ota.errors import OtaError
from edgetui.ota.health import HealthHooks, run_health
from edgetui.ota.slots import SlotStore, now_rfc3339
from edgetui.ota.updater import Offer, Updater

log = logging.getLogger(__name__)

OTA_ERROR = -32010  # JSON-RPC error code for a refused/failed update step; data.code = slug
RETRY_MIN_S = 30.0  # first retry after a failed periodic check; doubles up to the interval
HISTORY_IN_SECTION = 10
FIRST_CHECK_DELAY_S = 3.0
TERMINAL = ("done", "awaiting_commit", "rolled_back", "failed")
# Restart tasks outlive the service that asked for them (the restart stops that service).
_RESTARTS: set[asyncio.Task[None]] = set()


def _api_error(exc: Exception) -> APIError:
    if isinstance(exc, OtaError):
        return APIError(str(exc), OTA_ERROR, {"code": exc.code})
    return APIError(str(exc), OTA_ERROR, {"code": "error"})


class OtaService:
    """A/B slot manager and update client for one device."""

    name = "ota"

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        *,
        notify: Callable[[str, dict[str, Any]], None],
        request_restart: Callable[[str], Awaitable[None]],
        hooks: HealthHooks | None = None,
    ) -> None:
        self.config = config
        self.ota = config.ota
        self.store = SlotStore(state_dir)
        self.updater = Updater(self.store, config.ota, config.device.id, config.device.type)
        self._notify = notify
        self._request_restart = request_restart
        self.hooks = hooks or HealthHooks()
        self.booted: str | None = None
        self.trial = False
        self._state = OtaState()
        self._lock = asyncio.Lock()
        self._restarting = False
        self._stopped = False
        self._tasks: list[asyncio.Task[None]] = []
        self.update: dict[str, Any] = {"state": "idle", "available": None, "message": None}
        self.progress: dict[str, Any] | None = None
        self.health: dict[str, Any] | None = None
        self.last_check: dict[str, Any] | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Boot: count a trial attempt, verify the slot, roll back if needed."""
        result = await asyncio.to_thread(boot, self.store, self.ota.max_boot_attempts)
        self.booted, self.trial = result.booted, result.trial
        for note in result.notes:
            log.warning("OTA boot: %s", note)
        await self._reload()
        if result.rollback_reason:
            self._progress("rolled_back", None, result.rollback_reason)
        if self.trial:
            s = self._state.slots[self.booted or "a"]
            log.warning(
                "OTA: trial boot %d/%d of %s in slot %s",
                s.boot_attempts,
                self.ota.max_boot_attempts,
                s.version,
                self.booted,
            )
            fault_point("ota.first_boot")

    async def after_start(self) -> None:
        """Start the trial health check and the periodic update check."""
        if self._stopped:  # a restart overtook this start
            return
        if self.trial:
            self.health = {"state": "pending", "slot": self.booted, "checks": []}
            self._spawn(self._health_run(), "ota-health")
        if self.ota.manifest_url:
            self._spawn(self._check_loop(), "ota-check")

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))  # type: ignore[arg-type]

    def _schedule_restart(self, reason: str) -> None:
        # Not awaited here: the restart stops this service (and would cancel our caller).
        if self._stopped:
            return
        self._restarting = True
        self._progress("restarting", None, f"restarting the runtime: {reason}")
        # One restart at a time: a restart asked for while another is still starting the
        # services waits for it, so a half-started runtime is never stopped underneath.
        earlier = [t for t in _RESTARTS if not t.done()]

        async def restart() -> None:
            for t in earlier:
                with contextlib.suppress(Exception):
                    await t
            await self._request_restart(reason)

        task = asyncio.get_running_loop().create_task(restart(), name="ota-restart")
        _RESTARTS.add(task)
        task.add_done_callback(_RESTARTS.discard)

    async def _reload(self) -> None:
        self._state = await asyncio.to_thread(self.store.load)

    def _progress(self, phase: str, percent: float | None, message: str) -> None:
        self.progress = {
            "phase": phase,
            "percent": percent,
            "message": message,
            "time": now_rfc3339(),
            "active": phase not in TERMINAL,
        }
        self._notify("ota.progress", dict(self.progress))

    # -- section ----------------------------------------------------------------------
    def section(self) -> dict[str, Any]:
        """Shaped like `ota status --json`."""
        st = self._state
        slots = {}
        for name, s in st.slots.items():
            d = to_dict(s)
            d["path"] = str(self.store.slot_dir(name))
            slots[name] = d
        return {
            "booted": self.booted,
            "primary": self.store.current(),
            "slots": slots,
            "max_boot_attempts": self.ota.max_boot_attempts,
            "auto_commit": self.ota.auto_commit,
            "manifest_url": self.ota.manifest_url or None,
            "update": dict(self.update),
            "progress": self.progress,
            "health": self.health,
            "last_check": self.last_check,
            "last_rollback_reason": st.last_rollback_reason,
            "history": [to_dict(h) for h in reversed(st.history[-HISTORY_IN_SECTION:])],
        }

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "ota.status": self.m_status,
            "ota.check": self.m_check,
            "ota.apply": self.m_apply,
            "ota.rollback": self.m_rollback,
            "ota.commit": self.m_commit,
            "ota.history": self.m_history,
        }

    # -- methods ----------------------------------------------------------------------
    async def m_status(self, _: dict[str, Any]) -> dict[str, Any]:
        await self._reload()
        return self.section()

    async def m_history(self, _: dict[str, Any]) -> list[dict[str, Any]]:
        await self._reload()
        return [to_dict(h) for h in reversed(self._state.history)]

    async def m_check(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            offer = await self._check(params.get("manifest"))
        except (OtaError, ValueError, OSError) as exc:
            raise _api_error(exc) from None
        return offer.summary()

    async def m_apply(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.apply(params.get("manifest"), bool(params.get("allow_downgrade")))

    async def m_rollback(self, _: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            self._refuse_if_restarting()
            await self._reload()
            target = self.store.other(self.booted)
            t = self._state.slots[target]
            if t.status != "good":
                raise APIError(
                    f"cannot roll back: slot {target} is {t.status}"
                    + (f" ({t.last_error})" if t.last_error else ""),
                    OTA_ERROR,
                    {"code": "no_good_slot"},
                )
            reason = "rollback requested by the operator"
            if self.booted and self._state.slots[self.booted].status == "trial":
                reason += " before commit"
            await asyncio.to_thread(self._manual_rollback, target, reason)
            await self._reload()
            self._progress("rolled_back", None, f"rolled back to {t.version} (slot {target})")
            self._schedule_restart(f"rollback to slot {target}")
            return {"slot": target, "version": t.version, "restarting": True}

    def _manual_rollback(self, target: str, reason: str) -> None:
        state = self.store.load()
        cur = self.booted
        if cur and state.slots[cur].status == "trial":
            roll_back(self.store, state, cur, reason)
            return
        t = state.slots[target]
        state.last_rollback_reason = f"{reason}: back to {t.version} (slot {target})"
        self.store.record(
            state,
            "rollback",
            "ok",
            reason,
            slot=target,
            from_version=state.slots[cur].version if cur else None,
            to_version=t.version,
        )
        self.store.save(state)
        self.store.switch(target)

    async def m_commit(self, _: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            await self._reload()
            if self.booted is None:
                raise APIError("nothing to commit: no slot booted", OTA_ERROR, {"code": "no_slot"})
            s = self._state.slots[self.booted]
            if s.status == "good":
                return {
                    "slot": self.booted,
                    "version": s.version,
                    "committed": False,
                    "message": f"slot {self.booted} ({s.version}) is already good",
                }
            state = (self.health or {}).get("state")
            if state in ("pending", "running"):
                raise APIError(
                    "health check still running; commit once it passes",
                    OTA_ERROR,
                    {"code": "health_running"},
                )
            await self._commit("committed by the operator")
            return {
                "slot": self.booted,
                "version": s.version,
                "committed": True,
                "message": f"{s.version} committed: slot {self.booted} is good",
            }

    def _refuse_if_restarting(self) -> None:
        if self._restarting:
            raise APIError(
                "the runtime is restarting; try again in a moment", OTA_ERROR, {"code": "busy"}
            )

    # -- check and apply --------------------------------------------------------------
    def _installed_version(self) -> str | None:
        return self._state.slots[self.booted].version if self.booted else None

    async def _check(self, manifest: str | None) -> Offer:
        url = manifest or self.ota.manifest_url
        if not url:
            raise OtaError("not_found", "no manifest: set [ota] manifest_url or pass --manifest")
        self.update["state"] = "checking"
        try:
            offer = await asyncio.to_thread(
                self.updater.fetch_offer, url, self._installed_version()
            )
        except Exception as exc:
            self.update = {"state": "error", "available": None, "message": str(exc)}
            self.last_check = {"time": now_rfc3339(), "ok": False, "message": str(exc)}
            raise
        self.update = {
            "state": "available" if offer.available else "up_to_date",
            "available": offer.summary() if offer.available else None,
            "message": offer.message,
        }
        self.last_check = {"time": now_rfc3339(), "ok": True, "message": offer.message}
        return offer

    async def apply(self, manifest: str | None, allow_downgrade: bool = False) -> dict[str, Any]:
        """Verify, install into the inactive slot, switch, and schedule the trial restart."""
        if self._lock.locked():
            raise APIError("an update or rollback is already running", OTA_ERROR, {"code": "busy"})
        async with self._lock:
            self._refuse_if_restarting()
            await self._reload()
            if self.trial:
                raise APIError(
                    f"slot {self.booted} is still on trial: commit or roll back first",
                    OTA_ERROR,
                    {"code": "trial_pending"},
                )
            url = manifest or self.ota.manifest_url
            target = self.store.other(self.booted)
            loop = asyncio.get_running_loop()

            def progress(phase: str, pct: float | None, msg: str) -> None:
                loop.call_soon_threadsafe(self._progress, phase, pct, msg)

            offer: Offer | None = None
            try:
                if not url:
                    raise OtaError("not_found", "no manifest: set [ota] manifest_url")
                self._progress("verify", None, f"checking manifest {url}")
                offer = await asyncio.to_thread(
                    self.updater.fetch_offer,
                    url,
                    self._installed_version(),
                    allow_downgrade=allow_downgrade,
                )
                if not offer.available:
                    raise OtaError("downgrade", offer.message)
                self.update = {
                    "state": "applying",
                    "available": offer.summary(),
                    "message": f"installing {offer.manifest.version}",
                }  # type: ignore[attr-defined]
                await asyncio.to_thread(self.updater.install, offer, target, progress)
            except Exception as exc:
                await asyncio.sleep(0)  # let queued progress notes go out first
                version = offer.manifest.version if offer else None  # type: ignore[attr-defined]
                await asyncio.to_thread(self._record_failure, target, version, str(exc))
                await self._reload()
                self.update = {"state": "error", "available": None, "message": str(exc)}
                self._progress("failed", None, str(exc))
                raise _api_error(exc) from None
            await asyncio.sleep(0)
            await self._reload()
            version = offer.manifest.version  # type: ignore[attr-defined]
            self.update = {
                "state": "restarting",
                "available": None,
                "message": f"{version} staged in slot {target}",
            }
            self._schedule_restart(f"trial boot of {version} in slot {target}")
            return {"version": version, "slot": target, "restarting": True}

    def _record_failure(self, slot: str, version: str | None, reason: str) -> None:
        state = self.store.load()
        self.store.record(
            state,
            "update",
            "failed",
            reason,
            slot=slot,
            from_version=self._installed_version(),
            to_version=version,
        )
        self.store.save(state)

    async def _check_loop(self) -> None:
        # A moment after start: one-shot commands in standalone mode finish before it fires.
        await asyncio.sleep(FIRST_CHECK_DELAY_S)
        failures = 0
        while True:
            try:
                offer = await self._check(None)
                failures, delay = 0, self.ota.check_interval_s
                if offer.available and self.ota.auto_apply and not self.trial:
                    with contextlib.suppress(APIError):
                        await self.apply(None)
            except Exception as exc:
                failures += 1
                delay = min(self.ota.check_interval_s, RETRY_MIN_S * 2 ** (failures - 1))
                delay *= random.uniform(0.8, 1.2)  # devices of a fleet must not retry in step
                log.warning(
                    "OTA check failed (%d in a row, next in %.0f s): %s", failures, delay, exc
                )
            await asyncio.sleep(delay)

    # -- trial health, commit, rollback ----------------------------------------------
    async def _health_run(self) -> None:
        assert self.booted is not None
        s = self._state.slots[self.booted]
        self.health = {
            "state": "running",
            "slot": self.booted,
            "checks": [],
            "started_at": now_rfc3339(),
        }
        self._progress("health", None, f"health check of {s.version} (slot {self.booted})")
        fault_point("ota.health_check")
        report = await run_health(self.store.slot_dir(self.booted), self.ota, self.hooks)
        if self._stopped:  # the parts it measured were stopped under it: no verdict
            return
        checks = [to_dict(c) for c in report.checks]
        self.health = {
            "state": "passed" if report.ok else "failed",
            "slot": self.booted,
            "checks": checks,
            "finished_at": now_rfc3339(),
        }
        async with self._lock:
            if report.ok and self.ota.auto_commit:
                await self._commit("health check passed")
            elif report.ok:
                self._progress(
                    "awaiting_commit",
                    100,
                    f"health check passed; `edgetui ota commit` keeps {s.version}",
                )
            else:
                await self._health_failed("health check failed: " + report.reason())

    async def _commit(self, reason: str) -> None:
        assert self.booted is not None
        fault_point("ota.before_commit")
        state = await asyncio.to_thread(self.store.load)
        await asyncio.to_thread(commit, self.store, state, self.booted, reason)
        fault_point("ota.after_commit")
        self.trial = False
        await self._reload()
        s = self._state.slots[self.booted]
        self._progress("done", 100, f"{s.version} committed: slot {self.booted} is good")

    async def _health_failed(self, reason: str) -> None:
        assert self.booted is not None
        state = await asyncio.to_thread(self.store.load)
        target = await asyncio.to_thread(roll_back, self.store, state, self.booted, reason)
        await self._reload()
        if target is None:
            self._progress("failed", None, f"{reason}; no good slot to roll back to")
            return
        self._progress("rolled_back", None, self._state.last_rollback_reason or reason)
        self._schedule_restart(f"rollback: {reason}")
