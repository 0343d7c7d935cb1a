"""The runtime: composes the services, owns their asyncio tasks, answers RuntimeAPI.

Services are plain objects with `name`, `start()`, `stop()` and optionally `section()`
(their part of the snapshot) and `methods()` (named operations for `call`). The runtime
hands each the context it needs; services never import each other's internals.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edgetui import __version__
from edgetui.api import APIError, Notification
from edgetui.cancel import cancel_and_wait
from edgetui.config import Config
from edgetui.models import Snapshot
from edgetui.models.clock import rfc3339
from edgetui.telemetry import History, Sampler

if TYPE_CHECKING:
    # The parts are imported where they are built: a face that only attaches to a daemon
    # never loads paho, aiosqlite or llama.cpp.
    from edgetui.agent_host import AgentSupervisor
    from edgetui.bus import EventBus
    from edgetui.inference import InferenceEngine
    from edgetui.ota import OtaService
    from edgetui.store import Outbox
    from edgetui.telemetry.publisher import TelemetryPublisher
    from edgetui.uplink import Uplink
    from edgetui.validation import DriftService, ValidationService

log = logging.getLogger(__name__)

PARTS = ("ota", "store", "uplink", "bus", "inference", "agents", "validation", "drift")
Method = Callable[[dict[str, Any]], Awaitable[Any]]


class Service(Protocol):
    """What the runtime expects of a part (structural: parts need not import this)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


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


class Runtime:
    """The device runtime, run in-process (standalone) or inside `edgetui daemon`."""

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        *,
        mode: str = "standalone",
        sampler: Sampler | None = None,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._mode = mode
        self.sampler = sampler or Sampler(self.state_dir)
        self.history = History(config.telemetry.history_size)
        self.services: list[Service] = []
        # The parts (PARTS), set by their builders in start() (None while absent).
        self.ota: OtaService | None = None
        self.store: Outbox | None = None
        self.uplink: Uplink | None = None
        self.bus: EventBus | None = None
        self.inference: InferenceEngine | None = None
        self.agents: AgentSupervisor | None = None
        self.validation: ValidationService | None = None
        self.drift: DriftService | None = None
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
        fn = self._methods.get(method)
        if fn is None:
            raise APIError(f"unknown method: {method}", code=-32601)
        return await fn(params or {})

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

    def _register_core_methods(self) -> None:
        async def status(_: dict[str, Any]) -> dict[str, Any]:
            return (await self.status()).to_dict()

        async def methods(_: dict[str, Any]) -> list[str]:
            return self.method_names()

        self.register_method("status", status)
        self.register_method("methods", methods)

    # -- composition of the parts: each builder returns a started-later service or None.
    # Order matters: OTA decides the booted slot before inference and agents load from it.
    def _builders(self) -> list[Callable[[], Service | None]]:
        return [
            self._build_ota,
            self._build_store,
            self._build_uplink,
            self._build_bus,
            self._build_inference,
            self._build_agents,
            self._build_validation,
            self._build_drift,
            self._build_telemetry_publisher,
        ]

    def _build_ota(self) -> OtaService:
        """The A/B slot manager: boots (or rolls back) the slot before anything loads it."""
        from edgetui.ota import HealthHooks, OtaService

        hooks = HealthHooks(
            agents=lambda: self.agents.section() if self.agents is not None else None,
            enabled_agents=list(self.config.agents.enabled),
            inference=lambda: self.inference,
            validate=self._validate_slot,
        )
        self.ota = OtaService(
            self.config,
            self.state_dir,
            notify=self.notify,
            request_restart=self.restart,
            hooks=hooks,
        )
        return self.ota

    def _build_store(self) -> Outbox:
        """The durable outbox (one SQLite file per device, `[store] path`)."""
        from edgetui.store import Outbox

        path = Path(self.config.store.path or self.state_dir / "edgetui.db").expanduser()
        self.store = Outbox(
            self.config.store,
            path,
            rollup_after_s=60.0 * self.config.telemetry.rollup_after_min,
        )
        return self.store

    def _build_uplink(self) -> Uplink | None:
        """The MQTT uplink draining the outbox; its section is "buffer" (also when no
        broker is configured: then the outbox only fills, within its bounds)."""
        from edgetui.uplink import Uplink

        if self.store is None:
            return None
        self.uplink = Uplink(
            self.config.uplink, self.store, device_id=self.config.device.id, notify=self.notify
        )
        return self.uplink

    def _build_telemetry_publisher(self) -> TelemetryPublisher | None:
        """Telemetry messages (from the latest snapshot) and WARNING+ logs into the outbox."""
        from edgetui.telemetry.publisher import TelemetryPublisher

        if self.store is None:
            return None
        return TelemetryPublisher(
            self.store.enqueue,
            lambda: self._latest.to_dict(with_history=False) if self._latest else None,
            device_id=self.config.device.id,
            interval_s=self.config.telemetry.publish_interval_s,
        )

    def _build_bus(self) -> EventBus:
        """The local event bus (with its MQTT bridge when configured); configured event types
        also feed the outbox when it exists."""
        from edgetui.bus import build_bus, event_dict

        bus = build_bus(self.config.bus, self.config.device.id, notify=self.notify)
        if self.store is not None:
            store = self.store
            bus.add_sink(
                self.config.bus.outbox_types,
                lambda ev: store.enqueue("event", event_dict(ev)),
                name="outbox",
            )
        self.bus = bus
        return bus

    def _build_inference(self) -> InferenceEngine:
        """The llama.cpp engine: the active slot's model (checksum-checked) or model_path."""
        from edgetui.inference import InferenceEngine

        self.inference = InferenceEngine(self.config.inference, self.state_dir)
        return self.inference

    def _build_agents(self) -> AgentSupervisor | None:
        """The enabled agents, supervised; the active slot's agents/ overrides built-ins."""
        from edgetui.agent_host import AgentSupervisor, slot_agents_dir

        if not self.config.agents.enabled or self.bus is None:
            return None
        self.agents = AgentSupervisor(
            self.config.agents,
            bus=self.bus,
            inference=self.inference,
            device_id=self.config.device.id,
            device_type=self.config.device.type,
            state_dir=self.state_dir,
            agents_dir=slot_agents_dir(self.state_dir),
        )
        return self.agents

    async def _validate_slot(self, slot_dir: Path, phase: str) -> dict[str, Any] | None:
        """The OTA health hook: the validation suite on a slot (None: part not running)."""
        return await self.validation.validate_slot(slot_dir, phase) if self.validation else None

    def _build_validation(self) -> ValidationService | None:
        """`edgetui validate`, the OTA before/after runs and per-version baselines."""
        from edgetui.validation import build_validation

        self.validation = build_validation(
            self.config.validation, self.state_dir, engine=self.inference,
            agents=lambda: self.agents.section() if self.agents is not None else None,
            enabled_agents=self.config.agents.enabled, committed=self._committed,
        )  # fmt: skip
        return self.validation

    def _build_drift(self) -> DriftService | None:
        """PSI of the llm agent's decisions (from the bus) against a reference."""
        from edgetui.validation import build_drift

        self.drift = build_drift(
            self.config.validation, self.state_dir, bus=self.bus, engine=self.inference,
            validation=self.validation, committed=self._committed,
        )  # fmt: skip
        return self.drift

    def _committed(self) -> bool:
        """The booted slot is committed (no OTA: the model in use is as good as it gets)."""
        return self.ota is None or not self.ota.trial

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Start the services and the telemetry tick (the owner's call)."""
        self._closing = False
        async with self._restart_lock:
            await self._start()

    async def stop(self) -> None:
        """Stop everything; a restart still pending afterwards does nothing (the owner's call).
        Waits for a restart in progress, so a half-started runtime is never left behind."""
        self._closing = True
        async with self._restart_lock:
            await self._stop()

    async def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._stopped.clear()
        self.services = []
        # Build and start one part at a time: a later part may depend on what an earlier
        # one decided when it started (the booted slot, the open outbox).
        for build in self._builders():
            svc = None
            try:
                svc = build()
                if svc is None:
                    continue
                await svc.start()
            except Exception:
                # The device keeps running on the parts that work; the log says which failed.
                log.exception("part %s failed to start; running without it", build.__name__)
                for part in PARTS:
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
    async def _tick(self) -> None:
        sample = await asyncio.to_thread(self.sampler.sample)
        self.history.add(sample)
        sections: dict[str, Any] = {}
        for svc in self.services:
            section = getattr(svc, "section", None)
            if section is None:
                continue
            try:
                value = section()
            except Exception:
                log.exception("service %s failed to report its section", svc.name)
                continue
            if value is not None:
                sections[svc.name] = value
        self._latest = Snapshot(
            device_id=self.config.device.id,
            device_type=self.config.device.type,
            mode=self._mode,
            version=__version__,
            time=rfc3339(),
            resources=sample,
            history=self.history.export(last=120),
            sections=sections,
        )
        self.notify("snapshot", self._latest.to_dict())

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
