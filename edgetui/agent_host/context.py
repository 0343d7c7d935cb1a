"""What an agent gets from the runtime: the bus, the inference engine, its settings.

Agents (top-level `agents/` or a slot's `agents/`) import only this module and
`edgetui.models`; everything else reaches them through an AgentContext.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgetui.models.event import Event

StatusReporter = Callable[[str, dict[str, Any] | None], None]


@dataclass
class AgentContext:
    """Per-agent handle on the runtime. `settings` is the `[agents.<name>]` table."""

    name: str
    bus: Any  # edgetui.bus.EventBus (duck-typed: publish / subscribe / history)
    inference: Any | None  # edgetui.inference.InferenceEngine, None when absent
    settings: dict[str, Any]
    device_id: str
    device_type: str
    state_dir: Path
    log: logging.Logger
    report: StatusReporter = field(repr=False, default=lambda status, detail: None)

    @property
    def source(self) -> str:
        """CloudEvents source of this agent: edgetui://<device>/<agent>."""
        return self.bus.source_for(self.name)

    def publish(self, type: str, data: dict[str, Any] | None = None) -> Event:
        """Publish an event from this agent (never blocks)."""
        return self.bus.publish(type, data or {}, source=self.source)

    def subscribe(self, types: str | Sequence[str], *, queue_size: int | None = None) -> Any:
        """A bounded subscription named after this agent."""
        return self.bus.subscribe(types, name=f"agent:{self.name}", queue_size=queue_size)

    def set_status(self, status: str, detail: dict[str, Any] | None = None) -> None:
        """Report "running" (working) or "idle" (waiting), with optional details to show."""
        self.report(status, detail)

    def setting(self, key: str, default: Any) -> Any:
        """A setting of this agent, or `default` when absent or of another type."""
        value = self.settings.get(key, default)
        if default is not None and not isinstance(value, type(default)):
            if isinstance(default, float) and isinstance(value, int):
                return float(value)
            self.log.warning(
                "[agents.%s] %s: ignoring %r (expected like %r)", self.name, key, value, default
            )
            return default
        return value
