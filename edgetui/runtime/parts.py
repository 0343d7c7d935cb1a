"""How the runtime builds its parts, in order, and the hooks it hands them.

A mixin of `edgetui.runtime.Runtime`: each `_build_*` makes one part (imported here, not at
the top, so a face that only attaches to a daemon never loads paho, aiosqlite or llama.cpp)
and returns it, or None when it is not configured. The parts never reach each other: what one
needs of another (the outbox for audit records, the engine for validation, the security
monitor for refused commands) is a callable or a hook handed in here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edgetui.models.serde import to_dict

if TYPE_CHECKING:
    from edgetui.access import AccessPolicy
    from edgetui.agent_host import AgentSupervisor
    from edgetui.alerts import AlertEngine
    from edgetui.audit import SecurityService
    from edgetui.bus import EventBus
    from edgetui.config import Config
    from edgetui.doctor import DoctorService
    from edgetui.inference import InferenceEngine
    from edgetui.kiosk import KioskPin
    from edgetui.metrics import MetricsExporter
    from edgetui.models import Snapshot
    from edgetui.models.security import Caller
    from edgetui.ota import OtaService
    from edgetui.remote import RemoteCommands
    from edgetui.runtime.views import ModelView
    from edgetui.store import Outbox, OutboxReader
    from edgetui.telemetry import Sampler
    from edgetui.telemetry.publisher import TelemetryPublisher
    from edgetui.uplink import Uplink
    from edgetui.validation import DriftService, ValidationService

# The attributes that hold a running part (None while absent), in the order they start.
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
    "doctor",
)


class Service(Protocol):
    """What the runtime expects of a part (structural: parts need not import this)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class PartBuilders:
    """The part builders and hooks of the runtime (see the module docstring)."""

    # Set by Runtime.__init__.
    config: Config
    state_dir: Path
    sampler: Sampler
    access: AccessPolicy
    _mode: str
    _latest: Snapshot | None
    needs: frozenset[str]

    def _init_parts(self) -> None:
        """Every part absent until its builder runs in start()."""
        self.security: SecurityService | None = None
        self.ota: OtaService | None = None
        self.store: Outbox | None = None
        self.uplink: Uplink | None = None
        self.remote: RemoteCommands | None = None  # kept across restarts (see its doc)
        self.bus: EventBus | None = None
        self.inference: InferenceEngine | None = None
        self.agents: AgentSupervisor | None = None
        self.validation: ValidationService | None = None
        self.drift: DriftService | None = None
        self.alerts: AlertEngine | None = None
        self.metrics: MetricsExporter | None = None
        self.doctor: DoctorService | None = None
        self.kiosk: KioskPin | None = None  # the kiosk PIN check (edgetui.kiosk)
        # Read-only views a one-shot command starts instead of a part (needs "*.inspect"):
        # they report what the files say in the part's section; they are not the part.
        self.buffer_view: OutboxReader | None = None
        self.model_view: ModelView | None = None

    if TYPE_CHECKING:  # provided by Runtime

        def notify(self, kind: str, data: dict[str, Any]) -> None: ...

        async def restart(self, reason: str) -> None: ...

        async def call_as(
            self, caller: Caller, method: str, params: dict[str, Any] | None = None
        ) -> Any: ...

        def report_security(self, kind: str, message: str, **kw: Any) -> None: ...

        def method_names(self) -> list[str]: ...

    # -- composition of the parts: each builder returns a started-later service or None.
    # Order matters: OTA decides the booted slot before inference and agents load from it.
    # Each builder is paired with the needs (runtime/needs.py) that ask for it: a runtime
    # builds only the builders its `needs` name.
    def _builders(self) -> list[tuple[frozenset[str], Callable[[], Service | None]]]:
        def on(*names: str) -> frozenset[str]:
            return frozenset(names)

        return [
            (on("security"), self._build_security),
            (on("ota", "ota.inspect"), self._build_ota),
            (on("store"), self._build_store),
            (on("uplink"), self._build_uplink),
            (on("buffer.inspect"), self._build_buffer_view),
            (on("remote"), self._build_remote),
            (on("bus"), self._build_bus),
            (on("inference", "inference.inspect"), self._build_inference),
            (on("agents"), self._build_agents),
            (on("validation"), self._build_validation),
            (on("drift"), self._build_drift),
            (on("publisher"), self._build_telemetry_publisher),
            (on("alerts", "alerts.inspect"), self._build_alerts),
            (on("metrics"), self._build_metrics),
            (on("kiosk"), self._build_kiosk),
            (on("doctor"), self._build_doctor),
        ]

    def _build_security(self) -> SecurityService:
        """The audit trail and the security monitor (first: every later call is audited).
        It gets the outbox (audit records go uplink) and OTA (the slot re-hash) as getters."""
        from edgetui.audit import SecurityService

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
        """The A/B slot manager: boots (or rolls back) the slot before anything loads it.
        Asked for as "ota.inspect" only, it reads the slot state and never boots: no trial
        attempt is counted, no health check runs, no update check is scheduled."""
        from edgetui.ota import HealthHooks, OtaService

        hooks = HealthHooks(
            # The health check reads the rows as JSON (the ota part's own vocabulary).
            agents=lambda: to_dict(self.agents.section()) if self.agents is not None else None,
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
            inspect="ota" not in self.needs,
        )
        return self.ota

    def _build_store(self) -> Outbox:
        """The durable outbox (one SQLite file per device, `[store] path`), sealing its
        payloads under the device data key when `[store] encrypt` is on."""
        from edgetui.sealing import outbox_cipher
        from edgetui.store import Outbox

        self.store = Outbox(
            self.config.store,
            self._store_path(),
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

    def _build_buffer_view(self) -> OutboxReader | None:
        """The "buffer" section read from the outbox file opened read-only (when neither the
        uplink nor the outbox runs here): what is queued, nothing sent, nothing changed."""
        from edgetui.store import OutboxReader

        if self.uplink is not None or self.store is not None:
            return None
        self.buffer_view = OutboxReader(
            self.config.store, self._store_path(), broker_url=self.config.uplink.url
        )
        return self.buffer_view

    def _store_path(self) -> Path:
        return Path(self.config.store.path or self.state_dir / "edgetui.db").expanduser()

    def _build_remote(self) -> RemoteCommands | None:
        """Signed remote commands (`[remote]`), when a broker can bring them; the same part
        across restarts, so a command that restarts the runtime still reports its end."""
        from edgetui.remote import RemoteCommands

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
        """The local event bus (with its MQTT bridge when configured and needed); configured
        event types also feed the outbox when it exists."""
        import dataclasses

        from edgetui.bus import build_bus, event_dict

        config = self.config.bus
        if "bus.bridge" not in self.needs:  # the bridge is an MQTT connection: asked for
            config = dataclasses.replace(config, bridge_url="")
        bus = build_bus(config, self.config.device.id, notify=self.notify)
        if self.store is not None:
            store = self.store
            bus.add_sink(
                self.config.bus.outbox_types,
                lambda ev: store.enqueue("event", event_dict(ev)),
                name="outbox",
            )
        self.bus = bus
        return bus

    def _build_inference(self) -> InferenceEngine | ModelView:
        """The llama.cpp engine: the active slot's model (checksum-checked) or model_path.
        Asked for as "inference.inspect" only: the model file's header, never loaded."""
        if "inference" not in self.needs:
            from edgetui.runtime.views import ModelView

            self.model_view = ModelView(self.config.inference, self.state_dir)
            return self.model_view
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
        """The alert engine (evaluated in _tick); drills reach the parts through hooks.
        Asked for as "alerts.inspect" only, it shows the alerts as alerts.db last recorded
        them and judges nothing (a one-shot's partial snapshot must not resolve or fire)."""
        from edgetui.alerts import build_engine, drill_hooks
        from edgetui.doctor import runbook_files

        parts = {"agents": self.agents, "uplink": self.uplink, "inference": self.inference}
        hooks = drill_hooks(self.config, sampler=self.sampler, **parts)
        self.alerts = build_engine(
            self.config, self.state_dir, bus=self.bus, store=self.store, hooks=hooks,
            judge="alerts" in self.needs,
        )  # fmt: skip
        if self.alerts is not None:
            self.alerts.runbooks = runbook_files(self.config, self.state_dir)
        if self.alerts is not None and self.drift is not None:
            # The retraining trigger: a firing drift/confidence alert sends the drift part's
            # recent inputs (when `[retrain]` opts in; the sampler decides).
            sampler = self.drift.retrain
            if sampler is not None:
                self.alerts.listeners.append(
                    lambda a, transition: sampler.alert_changed(
                        a.name, transition, a.key, drill=bool(a.labels.get("drill"))
                    )
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

    def _build_doctor(self) -> DoctorService:
        """`doctor.report`: the latest snapshot diagnosed with the device's runbooks."""
        from edgetui.doctor import DoctorService

        def latest() -> dict[str, Any] | None:
            snap = self._latest
            return None if snap is None else snap.to_dict(with_history=False)

        self.doctor = DoctorService(self.config, self.state_dir, latest)
        return self.doctor

    def _build_kiosk(self) -> KioskPin:
        """The kiosk PIN check (hash, backoff, lockout) for the dashboard's kiosk mode."""
        from edgetui.kiosk import KioskPin

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
        from edgetui.access import current_caller

        message = str(info.get("message") or "wrong kiosk PIN")
        self.report_security("wrong_pin", message, caller=current_caller(), data=info)

    async def _validate_slot(self, slot_dir: Path, phase: str) -> dict[str, Any] | None:
        """The OTA health hook: the validation suite on a slot (None: part not running)."""
        return await self.validation.validate_slot(slot_dir, phase) if self.validation else None

    def _build_validation(self) -> ValidationService | None:
        """`edgetui validate`, the OTA before/after runs and per-version baselines."""
        from edgetui.validation import build_validation

        self.validation = build_validation(
            self.config.validation, self.state_dir, engine=self.inference or self.model_view,
            agents=lambda: self.agents.section() if self.agents is not None else None,
            enabled_agents=self.config.agents.enabled, committed=self._committed,
        )  # fmt: skip
        return self.validation

    def _build_drift(self) -> DriftService | None:
        """PSI of the llm agent's decisions (from the bus) against a reference."""
        from edgetui.validation import build_drift

        self.drift = build_drift(
            self.config.validation, self.state_dir, bus=self.bus,
            engine=self.inference or self.model_view,
            validation=self.validation, committed=self._committed,
            retrain=self.config.retrain, device_id=self.config.device.id,
            outbox=lambda: self.store,
        )  # fmt: skip
        return self.drift

    def _committed(self) -> bool:
        """The booted slot is committed (no OTA: the model in use is as good as it gets)."""
        return self.ota is None or not self.ota.trial
