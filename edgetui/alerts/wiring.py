"""The alert engine as the runtime builds it: its database beside the outbox's, bus events,
outbox messages and the drill hooks, from the parts the runtime hands over.

The parts come in as plain objects and are only called through the few methods named here
(duck typing): this part never imports another part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgetui.alerts.drills import DrillHooks
from edgetui.alerts.engine import AlertEngine
from edgetui.config import Config


def drill_hooks(
    config: Config, *, sampler: Any, agents: Any, uplink: Any, inference: Any
) -> DrillHooks:
    """What the fire drills may do: kill/hold an agent (AgentSupervisor.drill_crash /
    drill_release), redirect the uplink (Uplink.drill_redirect, only with a broker), make
    the sampler report a full disk, slow the model (InferenceEngine.inject_delay) and probe it."""
    return DrillHooks(
        tick_s=config.telemetry.interval_s,
        agent_names=lambda: list(agents.states) if agents is not None else [],
        crash_agent=agents.drill_crash if agents is not None else None,
        release_agent=agents.drill_release if agents is not None else None,
        redirect_uplink=uplink.drill_redirect if uplink is not None and config.uplink.url else None,
        set_disk_free_gb=lambda gb: setattr(sampler, "drill_disk_free_gb", gb),
        set_inference_delay=inference.inject_delay if inference is not None else None,
        probe_inference=(
            (lambda: inference.complete("drill probe:", max_tokens=4))
            if inference is not None
            else None
        ),
    )


def build_engine(
    config: Config,
    state_dir: Path,
    *,
    bus: Any,
    store: Any,
    hooks: DrillHooks,
    judge: bool = True,
) -> AlertEngine | None:
    """The engine for `[alerts]` (None when disabled); raises ConfigError for bad rules.
    `judge=False`: the alerts as recorded, nothing evaluated (see AlertEngine)."""
    if not config.alerts.enabled:
        return None
    db_dir = Path(config.store.path).expanduser().parent if config.store.path else state_dir
    publish = None
    if bus is not None:

        def publish(type_: str, data: dict[str, Any]) -> None:
            bus.publish(type_, data, source=bus.source_for("alerts"))

    return AlertEngine(
        config.alerts,
        db_dir / "alerts.db",
        device_id=config.device.id,
        publish=publish,
        enqueue=store.enqueue if store is not None else None,
        where=str(config.source or "config"),
        drill_hooks=hooks,
        tick_s=config.telemetry.interval_s,
        judge=judge,
    )
