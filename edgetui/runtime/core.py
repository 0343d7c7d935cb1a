"""The runtime itself: answers RuntimeAPI, starts and stops the parts, runs the tick.

Parts are plain objects with `name`, `start()`, `stop()` and optionally `section()` (their
part of the snapshot) and `methods()` (named operations for `call`); how each is built is
in `parts.py`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgetui import __version__
from edgetui.api import APIError, Notification
from edgetui.cancel import cancel_and_wait
from edgetui.config import Config, ConfigError
from edgetui.models import Snapshot
from edgetui.models.clock import rfc3339
from edgetui.models.serde import to_dict
from edgetui.models.untrusted import clip
from edgetui.runtime.parts import PARTS, PartBuilders, Service
from edgetui.telemetry import History, Sampler

if TYPE_CHECKING:
    from edgetui.models.security import Caller

log = logging.getLogger(__name__)

Method = Callable[[dict[str, Any]], Awaitable[Any]]


class _Subscriber:
    def __init__(self, kinds: Sequence[str], size: int = 256) -> None:
        self.kinds = set(kinds)
        self.queue: asyncio.Queue[Notification] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, note: Notification) -> None:
        if note.kind not in self.kinds and "*" not in self.kinds:
            return
        # A slow reader loses its oldest notifications; it never blocks the runtime.
        while self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(note)


class Runtime(PartBuilders):
    """The device runtime, run in-process (standalone) or inside `edgetui daemon`."""

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        *,
        mode: str = "standalone",
        sampler: Sampler | None = None,
        needs: frozenset[str] | None = None,
    ) -> None:
        from edgetui.runtime import needs as _needs

        self.config = config
        # What this runtime starts (runtime/needs.py): everything unless told less.
        self.needs: frozenset[str] = _needs.check(needs) if needs is not None else _needs.FULL
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._mode = mode
        self.sampler = sampler or Sampler(self.state_dir)
        self.history = History(config.telemetry.history_size)
        self.services: list[Service] = []
        self._init_parts()  # the parts (PARTS), set by their builders in start()
        from edgetui.access import AccessPolicy

        # [access] roles; standalone runs as the invoking user (session.open_api sets `via`).
        self.access: AccessPolicy = AccessPolicy(config.access)
        self.local_caller: Caller = self.access.local(via="cli")
        self._methods: dict[str, Method] = {}
        self._subscribers: list[_Subscriber] = []
        self._latest: Snapshot | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._restart_lock = asyncio.Lock()
        self._closing = False
        self._started = False
        self.restarts = 0
        self._register_core_methods()

    # -- RuntimeAPI -------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    async def status(self) -> Snapshot:
        if self._latest is None:
            await self._tick()
        assert self._latest is not None
        return self._latest

    async def subscribe(self, kinds: Sequence[str] = ("snapshot",)) -> AsyncIterator[Notification]:
        sub = _Subscriber(kinds)
        self._subscribers.append(sub)
        try:
            if "subscribed" in sub.kinds:
                yield Notification("subscribed", {})
            if "snapshot" in sub.kinds and self._latest is not None:
                yield Notification("snapshot", self._latest.to_dict())
            while True:
                yield await sub.queue.get()
        finally:
            self._subscribers.remove(sub)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """A call by this process's own user (standalone: the invoking user's role)."""
        return await self.call_as(self.local_caller, method, params)

    async def call_as(
        self, caller: Caller, method: str, params: dict[str, Any] | None = None
    ) -> Any:
        """Call `method` for `caller`: refused (and audited) unless the caller's role may
        call it; calls that need more than `viewer` are audited with their outcome."""
        from edgetui.access import call_guarded

        fn = self._methods.get(method)
        if fn is None:
            raise APIError(f"unknown method: {clip(method)}", code=-32601)
        result = await call_guarded(caller, method, params or {}, fn, self.security)
        # A result crosses the API in its JSON form, standalone as over the socket: a part
        # may answer with its typed section, the caller gets the same plain values either way.
        return to_dict(result)

    def report_security(self, kind: str, message: str, **kw: Any) -> None:
        """The hook for other parts' refusals ("bad_signature", "wrong_pin": see
        edgetui.audit.MONITOR_KINDS; kw: caller, data): kept, shown, audited. Thread-safe."""
        if self.security is not None:
            self.security.report(kind, message, **kw)

    async def close(self) -> None:
        await self.stop()

    # -- composition ------------------------------------------------------------------
    def register_method(self, name: str, fn: Method) -> None:
        """Expose `fn(params) -> JSON` as RuntimeAPI.call(name)."""
        self._methods[name] = fn

    def method_names(self) -> list[str]:
        return sorted(self._methods)

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        """Push a notification to every subscriber that asked for `kind` (never blocks)."""
        note = Notification(kind, data)
        for sub in list(self._subscribers):
            sub.offer(note)
        if self.security is not None:  # the device's own outcomes (OTA) go into the audit
            self.security.observe(kind, data)

    def _register_core_methods(self) -> None:
        async def status(_: dict[str, Any]) -> dict[str, Any]:
            return (await self.status()).to_dict()

        async def methods(_: dict[str, Any]) -> list[str]:
            return self.method_names()

        self.register_method("status", status)
        self.register_method("methods", methods)

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Start the services and the telemetry tick (the owner's call). A config error
        found while starting (an alert rule naming a path the status does not have) stops
        what started and is raised."""
        self._closing = False
        async with self._restart_lock:
            try:
                await self._start()
            except ConfigError:
                await self._stop()
                raise

    async def stop(self) -> None:
        """Stop everything; a restart still pending afterwards does nothing (the owner's call).
        Waits for a restart in progress, so a half-started runtime is never left behind."""
        self._closing = True
        async with self._restart_lock:
            await self._stop()
        if self.remote is not None:  # it outlives restarts, not the runtime
            await self.remote.close()

    async def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stopped.clear()
        self.services = []
        # Build and start one part at a time: a later part may depend on what an earlier
        # one decided when it started (the booted slot, the open outbox).
        for wanted, build in self._builders():
            if not wanted & self.needs:
                continue
            svc = None
            try:
                svc = build()
                if svc is None:
                    continue
                await svc.start()
            except ConfigError:
                raise
            except Exception:
                # The device keeps running on the parts that work; the log says which failed.
                log.exception("part %s failed to start; running without it", build.__name__)
                for part in (*PARTS, "buffer_view", "model_view"):
                    if svc is not None and getattr(self, part) is svc:
                        setattr(self, part, None)
                continue
            self.services.append(svc)
            methods = getattr(svc, "methods", None)
            if methods is not None:
                for name, fn in methods().items():
                    self.register_method(name, fn)
        for svc in self.services:
            after = getattr(svc, "after_start", None)
            if after is not None:
                await after()
        await self._tick()
        self._tick_task = asyncio.create_task(self._tick_loop(), name="telemetry-tick")

    async def _stop(self) -> None:
        # The tick first, then the services, newest first.
        if not self._started:
            return
        self._started = False
        await cancel_and_wait(self._tick_task)
        self._tick_task = None
        for svc in reversed(self.services):
            try:
                await svc.stop()
            except Exception:
                log.exception("service %s failed to stop cleanly", svc.name)
        self._stopped.set()

    async def restart(self, reason: str) -> None:
        """Process-level "reboot": stop every service and start again from the active slot."""
        async with self._restart_lock:  # one reboot at a time, never a half-started one
            if self._closing:
                log.info("restart (%s) skipped: the runtime is stopping", reason)
                return
            log.warning("runtime restarting: %s", reason)
            self.restarts += 1
            await self._stop()
            await self._start()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    # -- telemetry tick ---------------------------------------------------------------
    async def pause_ticks(self) -> None:
        """Stop the periodic tick until the next start, for a caller that drives the ticks
        itself with `tick_once` (a benchmark timing them)."""
        await cancel_and_wait(self._tick_task)
        self._tick_task = None

    async def tick_once(self) -> None:
        """One telemetry tick now: sample, every part's section, the alerts, the snapshot."""
        await self._tick()

    async def _tick(self) -> None:
        sample = await asyncio.to_thread(self.sampler.sample)
        self.history.add(sample)
        sections: dict[str, Any] = {}
        for svc in self.services:
            section = getattr(svc, "section", None)
            if section is None or svc is self.alerts:
                continue
            try:
                value = section()
            except Exception:
                log.exception("service %s failed to report its section", svc.name)
                continue
            if value is not None:
                sections[svc.name] = value
        snap = Snapshot(
            device_id=self.config.device.id,
            device_type=self.config.device.type,
            mode=self._mode,
            version=__version__,
            time=rfc3339(),
            resources=sample,
            history=self.history.export(last=120),
            sections=sections,
        )
        doc = snap.to_dict(with_history=False)
        if self.alerts is not None:
            # The alerts judge this very snapshot, and their section joins it.
            sections["alerts"] = await self.alerts.evaluate(doc)
        if self.doctor is not None:
            # The doctor reads what the alerts just decided: the same tick, never one behind.
            if "alerts" in sections:
                doc["alerts"] = to_dict(sections["alerts"])
            try:
                sections["doctor"] = await self.doctor.judge(doc)
            except Exception:
                log.exception("the doctor failed to diagnose the snapshot")
        self._latest = snap
        if self.metrics is not None:
            await self.metrics.on_snapshot()
        self.notify("snapshot", snap.to_dict())

    async def _tick_loop(self) -> None:
        interval = self.config.telemetry.interval_s
        next_at = time.monotonic() + interval
        while True:
            # One timer; a slow tick delays the next instead of overlapping it.
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + interval, time.monotonic())
            try:
                await self._tick()
            except Exception:
                log.exception("telemetry tick failed")
