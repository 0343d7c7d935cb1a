"""Synthetic snapshots and an engine on a real alerts.db with a clock the test moves."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from edgetui.alerts import AlertEngine
from edgetui.config import AlertRuleConfig, AlertsConfig

BASE: dict[str, Any] = {
    "device_id": "dev",
    "device_type": "generic",
    "mode": "standalone",
    "version": "0.1.0",
    "time": "2026-01-01T00:00:00.000Z",
    "resources": {
        "cpu_percent": 10.0,
        "cpu_per_core": [10.0, 10.0],
        "memory_total_mb": 1000.0,
        "memory_free_mb": 500.0,
        "disk_total_gb": 100.0,
        "disk_free_gb": 50.0,
        "temperature_c": None,
        "load_avg": [0.1, 0.1, 0.1],
        "net_rx_bps": 0.0,
        "net_tx_bps": 0.0,
        "uptime_seconds": 100.0,
        "process_uptime_seconds": 10.0,
    },
}


def snap(**sections: Any) -> dict[str, Any]:
    """BASE with sections added; `resources=` entries are merged into BASE's."""
    out = copy.deepcopy(BASE)
    for name, value in sections.items():
        if name == "resources":
            out["resources"].update(value)
        else:
            out[name] = value
    return out


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """Where the engine's bus events and outbox messages land in these tests."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.outbox: list[tuple[str, dict[str, Any]]] = []

    def publish(self, type_: str, data: dict[str, Any]) -> None:
        self.events.append((type_, data))

    async def enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        self.outbox.append((kind, payload))

    def types(self) -> list[str]:
        return [t for t, _ in self.events]


def make_engine(
    tmp: Path, rules: list[dict[str, Any]] | None = None, clock: Clock | None = None
) -> tuple[AlertEngine, Recorder, Clock]:
    rec, clock = Recorder(), clock or Clock()
    cfg = AlertsConfig(rules=[AlertRuleConfig(**r) for r in rules or []])
    engine = AlertEngine(
        cfg,
        tmp / "alerts.db",
        device_id="dev",
        publish=rec.publish,
        enqueue=rec.enqueue,
        clock=clock,
    )
    return engine, rec, clock
