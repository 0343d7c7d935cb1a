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
from edgetui.config import Config, ConfigError
from edgetui.models import Snapshot
from edgetui.models.clock import rfc3339
from edgetui.models.untrusted import clip
from edgetui.telemetry import History, Sampler

if TYPE_CHECKING:
    # The parts are imported where they are built: a face that only attaches to a daemon
    # never loads paho, aiosqlite or llama.cpp.
    from edgetui.agent_host import AgentSupervisor
    from edgetui.alerts import AlertEngine
    from edgetui.bus import EventBus
    from edgetui.inference import InferenceEngine
    from edgetui.metrics import MetricsExporter
    from edgetui.models.security import Caller
    from edgetui.ota import OtaService
    from edgetui.security import KioskPin, RemoteCommands, SecurityService
    from edgetui.store import Outbox
    from edgetui.telemetry.publisher import TelemetryPublisher
    from edgetui.uplink import Uplink
    from edgetui.validation import DriftService, ValidationService

log = logging.getLogger(__name__)

PARTS = (
    "security",
    "ota",
    "store",
    "uplink",
    "remote",
    "bus",
    "inference",
    "agents",
    "validation",
    "drift",
    "alerts",
    "metrics",
    "kiosk",
)
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
        self.alerts: AlertEngine | None = None
        self.metrics: MetricsExporter | None = None
        self.kiosk: KioskPin | None = None  # the kiosk PIN check (edgetui.security)
        self.security: SecurityService | None = None
        from edgetui.security import AccessPolicy

        # [access] roles; standalone runs as the invoking user (session.open_api sets `via`).
        self.access: AccessPolicy = AccessPolicy(config.access)
        self.local_caller: Caller = self.access.local(via="cli")
        self.remote: RemoteCommands | None = None  # kept across restarts (see its doc)
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
        """A call by this process's own user (standalone: the invoking user's role)."""
        return await self.call_as(self.local_caller, method, params)

    async def call_as(
        self, caller: Caller, method: str, params: dict[str, Any] | None = None
    ) -> Any:
        """Call `method` for `caller`: refused (and audited) unless the caller's role may
        call it; calls that need more than `viewer` are audited with their outcome."""
        from edgetui.security import call_guarded

        fn = self._methods.get(method)
        if fn is None:
            raise APIError(f"unknown method: {clip(method)}", code=-32601)
        return await call_guarded(caller, method, params or {}, fn, self.security)

    def report_security(self, kind: str, message: str, **kw: Any) -> None:
        """The hook for other parts' refusals ("bad_signature", "wrong_pin": see
        edgetui.security.MONITOR_KINDS; kw: caller, data): kept, shown, audited. Thread-safe."""
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

    # -- composition of the parts: each builder returns a started-later service or None.
    # Order matters: OTA decides the booted slot before inference and agents load from it.
    def _builders(self) -> list[Callable[[], Service | None]]:
        return [
            self._build_security,
            self._build_ota,
            self._build_store,
            self._build_uplink,
            self._build_remote,
            self._build_bus,
            self._build_inference,
            self._build_agents,
            self._build_validation,
            self._build_drift,
            self._build_telemetry_publisher,
            self._build_alerts,
            self._build_metrics,
            self._build_kiosk,
        ]

    def _build_security(self) -> SecurityService:
        """The audit trail and the security monitor (first: every later call is audited).
        It gets the outbox (audit records go uplink) and OTA (the slot re-hash) as getters."""
        from edgetui.security import SecurityService

        self.security = SecurityService(
            self.config,
            self.state_dir,
            policy=self.access,
            notify=self.notify,
            outbox=lambda: self.store,
            ota=lambda: self.ota,
            method_names=self.method_names,
        )
        return self.security

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
        """The durable outbox (one SQLite file per device, `[store] path`), sealing its
        payloads under the device data key when `[store] encrypt` is on."""
        from edgetui.security import outbox_cipher
        from edgetui.store import Outbox

        path = Path(self.config.store.path or self.state_dir / "edgetui.db").expanduser()
        self.store = Outbox(
            self.config.store,
            path,
            rollup_after_s=60.0 * self.config.telemetry.rollup_after_min,
            cipher=outbox_cipher(self.config.store, self.state_dir),
        )
        return self.store

    def _build_uplink(self) -> Uplink | None:
        """The MQTT uplink draining the outbox; its section is "buffer" (also when no
        broker is configured: then the outbox only fills, within its bounds)."""
        from edgetui.uplink import Uplink

        if self.store is None:
            return None
        self.uplink = Uplink(
            self.config.uplink,
            self.store,
            device_id=self.config.device.id,
            notify=self.notify,
            on_command=lambda payload: self.remote.receive(payload) if self.remote else None,
        )
        return self.uplink

    def _build_remote(self) -> RemoteCommands | None:
        """Signed remote commands (`[remote]`), when a broker can bring them; the same part
        across restarts, so a command that restarts the runtime still reports its end."""
        from edgetui.security import RemoteCommands

        if self.store is None or not self.config.uplink.url:
            return None
        if self.remote is None:

            async def publish(record: dict[str, Any]) -> None:
                if self.store is None:
                    raise RuntimeError("the outbox is not running")
                await self.store.enqueue("result", record)

            async def call(method: str, params: dict[str, Any], key_id: str) -> Any:
                # Authorised by its key, audited as `via: remote` with the key id.
                return await self.call_as(self.access.remote(key_id), method, params)

            self.remote = RemoteCommands(
                self.config.remote,
                self.state_dir,
                device_id=self.config.device.id,
                device_type=self.config.device.type,
                call=call,
                publish=publish,
                notify=self.notify,
                on_refused=self._command_refused,
            )
        return self.remote

    def _command_refused(
        self, code: str, message: str, command_id: str | None, key_id: str | None
    ) -> None:
        """A refused remote command whose signature or key is wrong is a security event
        (kept, shown, audited); the other refusals are published as REJECTED with a reason."""
        if code in ("bad_signature", "unknown_key", "revoked_key"):
            caller = self.access.remote(key_id or "unknown")
            data = {"code": code, "command_id": command_id}
            self.report_security("bad_signature", message, caller=caller, data=data)

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
        from edgetui.agent_host import AgentSupervisor

        if not self.config.agents.enabled or self.bus is None:
            return None
        self.agents = AgentSupervisor(
            self.config.agents,
            bus=self.bus,
            inference=self.inference,
            device_id=self.config.device.id,
            device_type=self.config.device.type,
            state_dir=self.state_dir,
            slot_agents=True,
        )
        return self.agents

    def _build_alerts(self) -> AlertEngine | None:
        """The alert engine (evaluated in _tick); drills reach the parts through hooks."""
        from edgetui.alerts import build_engine, drill_hooks

        parts = {"agents": self.agents, "uplink": self.uplink, "inference": self.inference}
        hooks = drill_hooks(self.config, sampler=self.sampler, **parts)
        self.alerts = build_engine(
            self.config, self.state_dir, bus=self.bus, store=self.store, hooks=hooks
        )
        return self.alerts

    def _build_metrics(self) -> MetricsExporter | None:
        """Prometheus exposition of the latest snapshot (`[metrics] listen` / `textfile`)."""
        from edgetui.metrics import MetricsExporter

        if not (self.config.metrics.listen or self.config.metrics.textfile):
            return None
        self.metrics = MetricsExporter(
            self.config.metrics,
            lambda: self._latest.to_dict(with_history=False) if self._latest else None,
        )
        return self.metrics

    def _build_kiosk(self) -> KioskPin:
        """The kiosk PIN check (hash, backoff, lockout) for the dashboard's kiosk mode."""
        from edgetui.security import KioskPin

        self.kiosk = KioskPin(
            self.config.ui,
            self.state_dir,
            config_file=self.config.source,
            log_warning=self._mode == "attached",  # the daemon's log; standalone: the status
            notify=self.notify,
        )
        self.kiosk.on_wrong_pin = self._wrong_pin
        return self.kiosk

    def _wrong_pin(self, info: dict[str, Any]) -> None:
        """A refused kiosk PIN goes to the security monitor, as the caller who tried it."""
        from edgetui.security import current_caller

        message = str(info.get("message") or "wrong kiosk PIN")
        self.report_security("wrong_pin", message, caller=current_caller(), data=info)

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
        for build in self._builders():
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
        if self.alerts is not None:
            # The alerts judge this very snapshot, and their section joins it.
            sections["alerts"] = await self.alerts.evaluate(snap.to_dict(with_history=False))
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
