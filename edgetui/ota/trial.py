"""The trial half of OtaService: the health check of a freshly booted slot, then commit or
automatic rollback, and the operator's `ota.commit` and `ota.rollback`.

A mixin: it works on the state OtaService owns (booted slot, trial flag, health, lock) and
reports through OtaService's progress and restart hooks, declared below for type checkers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from edgetui.api import APIError
from edgetui.config import OtaConfig
from edgetui.faults import fault_point
from edgetui.models.ota import OtaState
from edgetui.models.ota_section import HealthRun, HealthState
from edgetui.ota.boot import commit, roll_back, roll_back_to
from edgetui.ota.compare import Comparison
from edgetui.ota.errors import OTA_ERROR
from edgetui.ota.health import HealthHooks, run_health
from edgetui.ota.slots import SlotStore, now_rfc3339


class TrialMixin:
    """Health check, commit and rollback of the booted slot (mixed into OtaService)."""

    # Owned and set up by OtaService.
    store: SlotStore
    ota: OtaConfig
    hooks: HealthHooks
    comparison: Comparison
    validation: dict[str, Any] | None
    booted: str | None
    trial: bool
    health: HealthRun | None
    _state: OtaState
    _lock: asyncio.Lock
    _stopped: bool

    if TYPE_CHECKING:

        def _progress(self, phase: str, percent: float | None, message: str) -> None: ...
        def _schedule_restart(self, reason: str) -> None: ...
        def _refuse_if_restarting(self) -> None: ...
        async def _reload(self) -> None: ...

    # -- RPC methods ------------------------------------------------------------------
    async def m_rollback(self, _: dict[str, Any]) -> dict[str, Any]:
        """Switch to the other slot when it is good, and restart into it."""
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
            await asyncio.to_thread(roll_back_to, self.store, self.booted, target, reason)
            await self._reload()
            self._progress("rolled_back", None, f"rolled back to {t.version} (slot {target})")
            self._schedule_restart(f"rollback to slot {target}")
            return {"slot": target, "version": t.version, "restarting": True}

    async def m_commit(self, _: dict[str, Any]) -> dict[str, Any]:
        """Mark the booted trial slot good (refused while its health check runs)."""
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
            if self.health is not None and self.health.state in (
                HealthState.PENDING,
                HealthState.RUNNING,
            ):
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

    # -- trial health, commit, rollback ----------------------------------------------
    async def _health_run(self) -> None:
        assert self.booted is not None
        s = self._state.slots[self.booted]
        self.health = HealthRun(HealthState.RUNNING, self.booted, started_at=now_rfc3339())
        self._progress("health", None, f"health check of {s.version} (slot {self.booted})")
        fault_point("ota.health_check")
        report = await run_health(self.store.slot_dir(self.booted), self.ota, self.hooks)
        if self._stopped:  # the parts it measured were stopped under it: no verdict
            return
        if report.validation is not None:
            await asyncio.to_thread(self.comparison.finish, report.validation, s.version)
            self.validation = await asyncio.to_thread(self.comparison.load)
        self.health = HealthRun(
            HealthState.PASSED if report.ok else HealthState.FAILED,
            self.booted,
            list(report.checks),
            finished_at=now_rfc3339(),
        )
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
