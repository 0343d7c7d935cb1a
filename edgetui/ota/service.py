"""OtaService ("ota"): boots the right slot, checks for and applies updates, runs the trial
health check, commits or rolls back, and reports all of it as the "ota" section.

The runtime builds it first: `start()` is the bootloader (it may roll back and move
`slots/current`) and runs before inference and agents load from the slot. The trial half
(health check, commit, rollback) is in edgetui/ota/trial.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgetui.api import APIError
from edgetui.config import Config
from edgetui.faults import fault_point
from edgetui.models.ota import OtaState
from edgetui.models.ota_section import (
    FINAL_PHASES,
    CheckNote,
    HealthRun,
    HealthState,
    OtaSection,
    Phase,
    Progress,
    SlotRow,
    UpdateState,
    UpdateStatus,
)
from edgetui.models.serde import to_dict
from edgetui.ota.boot import boot
from edgetui.ota.compare import Comparison
from edgetui.ota.errors import OTA_ERROR, OtaError
from edgetui.ota.health import HealthHooks
from edgetui.ota.slots import SlotStore, content_digest, now_rfc3339
from edgetui.ota.trial import TrialMixin
from edgetui.ota.updater import Offer, Updater

log = logging.getLogger(__name__)

RETRY_MIN_S = 30.0  # first retry after a failed periodic check; doubles up to the interval
HISTORY_IN_SECTION = 10
FIRST_CHECK_DELAY_S = 3.0
# Restart tasks outlive the service that asked for them (the restart stops that service).
_RESTARTS: set[asyncio.Task[None]] = set()


def _api_error(exc: Exception) -> APIError:
    if isinstance(exc, OtaError):
        return APIError(str(exc), OTA_ERROR, {"code": exc.code})
    return APIError(str(exc), OTA_ERROR, {"code": "error"})


class OtaService(TrialMixin):
    """A/B slot manager and update client for one device.

    `first_check_delay_s` and `retry_min_s` time the periodic update check (tests shorten
    them); the interval between checks is `[ota] check_interval_s`.

    With `inspect`, it is a read-only view for a one-shot command: `start()` reads the slot
    state and `slots/current` and never boots (no trial attempt counted, no rollback, no
    health check, no periodic check); only status, history and check are offered.
    """

    name = "ota"

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        *,
        notify: Callable[[str, dict[str, Any]], None],
        request_restart: Callable[[str], Awaitable[None]],
        hooks: HealthHooks | None = None,
        first_check_delay_s: float = FIRST_CHECK_DELAY_S,
        retry_min_s: float = RETRY_MIN_S,
        inspect: bool = False,
    ) -> None:
        self.config = config
        self.inspect = inspect
        self.ota = config.ota
        self.store = SlotStore(state_dir)
        self.comparison = Comparison(state_dir)
        self.validation: dict[str, Any] | None = None  # before/after of the latest update
        self.updater = Updater(self.store, config.ota, config.device.id, config.device.type)
        self._notify = notify
        self._request_restart = request_restart
        self.hooks = hooks or HealthHooks()
        self.first_check_delay_s = first_check_delay_s
        self.retry_min_s = retry_min_s
        self.booted: str | None = None
        self.trial = False
        self._state = OtaState()
        self._lock = asyncio.Lock()
        self._restarting = False
        self._stopped = False
        self._tasks: list[asyncio.Task[None]] = []
        self.update = UpdateStatus()
        self.progress: Progress | None = None
        self.health: HealthRun | None = None
        self.last_check: CheckNote | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Boot: count a trial attempt, verify the slot, roll back if needed (inspect: read
        what the last boot decided, change nothing)."""
        if self.inspect:
            await self._look()
            return
        result = await asyncio.to_thread(boot, self.store, self.ota.max_boot_attempts)
        self.booted, self.trial = result.booted, result.trial
        for note in result.notes:
            log.warning("OTA boot: %s", note)
        await self._reload()
        self.validation = await asyncio.to_thread(self.comparison.load)
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

    async def _look(self) -> None:
        """The read-only start: the slot `current` points to is the one the last boot
        chose (and the next boot tries); it is on trial when its state says so."""

        def read() -> tuple[OtaState, str | None]:
            return self.store.load(), self.store.current()

        self._state, self.booted = await asyncio.to_thread(read)
        slot = self._state.slots.get(self.booted) if self.booted else None
        self.trial = slot is not None and slot.status == "trial"
        self.validation = await asyncio.to_thread(self.comparison.load)

    async def after_start(self) -> None:
        """Start the trial health check and the periodic update check."""
        if self._stopped or self.inspect:  # a restart overtook this start; a view runs none
            return
        if self.trial:
            self.health = HealthRun(HealthState.PENDING, self.booted)
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
        step = Phase(phase)
        self.progress = Progress(step, percent, message, now_rfc3339(), step not in FINAL_PHASES)
        self._notify("ota.progress", to_dict(self.progress))

    # -- section ----------------------------------------------------------------------
    def section(self) -> OtaSection:
        """What `ota status --json` prints: both slots, the offer, progress and history."""
        st = self._state
        slots = {
            name: SlotRow(**vars(s), path=str(self.store.slot_dir(name)))
            for name, s in st.slots.items()
        }
        return OtaSection(
            booted=self.booted,
            primary=self.store.current(),
            slots=slots,
            max_boot_attempts=self.ota.max_boot_attempts,
            auto_commit=self.ota.auto_commit,
            manifest_url=self.ota.manifest_url or None,
            update=replace(self.update),
            progress=self.progress,
            health=self.health,
            last_check=self.last_check,
            last_rollback_reason=st.last_rollback_reason,
            validation=self.validation,
            history=list(reversed(st.history[-HISTORY_IN_SECTION:])),
        )

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        if self.inspect:  # acting on a slot needs the real boot (runtime/needs.py SLOT)
            return {
                "ota.status": self.m_status,
                "ota.check": self.m_check,
                "ota.apply": self._m_read_only,
                "ota.rollback": self._m_read_only,
                "ota.commit": self._m_read_only,
                "ota.history": self.m_history,
            }
        return {
            "ota.status": self.m_status,
            "ota.check": self.m_check,
            "ota.apply": self.m_apply,
            "ota.rollback": self.m_rollback,
            "ota.commit": self.m_commit,
            "ota.history": self.m_history,
        }

    async def _m_read_only(self, _: dict[str, Any]) -> dict[str, Any]:
        raise APIError(
            "this runtime only reads the slot state (it did not boot the slot): "
            "`edgetui ota apply|rollback|commit` act on it",
            OTA_ERROR,
            {"code": "read_only"},
        )

    async def verify_booted_content(self) -> dict[str, Any] | None:
        """Re-hash the booted slot against the checksum recorded at install (the security
        monitor's periodic check: a slot changed after install was tampered with). None
        when no slot with a recorded checksum is booted."""
        slot = self.booted
        s = self._state.slots.get(slot) if slot else None
        if slot is None or s is None or not s.content_sha256:
            return None
        # A tamper check reads the bytes again: the digest memo trusts file stamps.
        actual = await asyncio.to_thread(content_digest, self.store.slot_dir(slot), fresh=True)
        return {
            "slot": slot,
            "version": s.version,
            "expected": s.content_sha256,
            "actual": actual,
            "ok": actual == s.content_sha256,
        }

    # -- methods ----------------------------------------------------------------------
    async def m_status(self, _: dict[str, Any]) -> OtaSection:
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
        return to_dict(offer.summary())

    async def m_apply(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.apply(params.get("manifest"), bool(params.get("allow_downgrade")))

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
        self.update.state = UpdateState.CHECKING
        try:
            offer = await asyncio.to_thread(
                self.updater.fetch_offer, url, self._installed_version()
            )
        except Exception as exc:
            self.update = UpdateStatus(UpdateState.ERROR, None, str(exc))
            self.last_check = CheckNote(now_rfc3339(), False, str(exc))
            raise
        self.update = UpdateStatus(
            UpdateState.AVAILABLE if offer.available else UpdateState.UP_TO_DATE,
            offer.summary() if offer.available else None,
            offer.message,
        )
        self.last_check = CheckNote(now_rfc3339(), True, offer.message)
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
                await self._validate_before(offer.manifest.version)
                self.update = UpdateStatus(
                    UpdateState.APPLYING, offer.summary(), f"installing {offer.manifest.version}"
                )
                await asyncio.to_thread(self.updater.install, offer, target, progress)
            except Exception as exc:
                await asyncio.sleep(0)  # let queued progress notes go out first
                version = offer.manifest.version if offer else None
                await asyncio.to_thread(self._record_failure, target, version, str(exc))
                await self._reload()
                self.update = UpdateStatus(UpdateState.ERROR, None, str(exc))
                self._progress("failed", None, str(exc))
                raise _api_error(exc) from None
            await asyncio.sleep(0)
            await self._reload()
            version = offer.manifest.version
            self.update = UpdateStatus(
                UpdateState.RESTARTING, None, f"{version} staged in slot {target}"
            )
            self._schedule_restart(f"trial boot of {version} in slot {target}")
            return {"version": version, "slot": target, "restarting": True}

    async def _validate_before(self, version: str) -> None:
        """The validation suite on the running slot, kept as the update's "before"."""
        before = None
        if self.hooks.validate is not None and self.booted is not None:
            self._progress("verify", None, "golden prompts on the running slot (before)")
            try:
                before = await self.hooks.validate(self.store.slot_dir(self.booted), "before")
            except Exception as exc:  # the update does not depend on it; the panel says so
                log.warning("OTA: validation before the update failed: %s", exc)
        await asyncio.to_thread(self.comparison.start, before, self._installed_version(), version)
        self.validation = await asyncio.to_thread(self.comparison.load)

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
        await asyncio.sleep(self.first_check_delay_s)
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
                delay = min(self.ota.check_interval_s, self.retry_min_s * 2 ** (failures - 1))
                delay *= random.uniform(0.8, 1.2)  # devices of a fleet must not retry in step
                log.warning(
                    "OTA check failed (%d in a row, next in %.1f s): %s", failures, delay, exc
                )
            await asyncio.sleep(delay)
