"""One simulated device: its state and the messages it publishes, in the same shapes as a
real device (status `online`/`offline`, the seed's telemetry with the `device` block, alert
transitions as the alerts part sends them). No network here: `pool.py` carries the bytes.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from edgetui.fleet.records import iso
from edgetui.fleet.simulator.ota import SimOta
from edgetui.models.vocabulary import Topic, device_topic

LOW_RAM_MB = 512.0
RAM_MB = 2048.0


@dataclass
class SimDevice:
    """A device of the simulated fleet. `low_ram` devices have 512 MB and fire the memory
    alert; `will_fail` devices are the ones whose update health check will fail; `flaky`
    devices go offline now and then. `ota` (signed commands, A/B slots) is set by the
    Simulator; its booted slot is what the telemetry reports."""

    device_id: str
    device_type: str
    rng: random.Random
    low_ram: bool = False
    will_fail: bool = False
    flaky: bool = False
    release: str = "1.0.0"
    seq: int = 0
    started: float = 0.0
    alerts: dict[str, str] = field(default_factory=dict)  # alertname -> state
    ota: SimOta | None = None
    outbox: list[tuple[str, bytes]] = field(default_factory=list)  # kept while offline

    @property
    def version(self) -> str:
        return self.ota.version if self.ota else "0.1.0"

    @property
    def slot(self) -> str:
        return self.ota.booted if self.ota else "a"

    @property
    def slot_status(self) -> str:
        return self.ota.slot_status if self.ota else "good"

    @property
    def status_topic(self) -> str:
        return device_topic(self.device_id, Topic.STATUS)

    @property
    def commands_topic(self) -> str:
        return device_topic(self.device_id, Topic.COMMANDS)

    def topic(self, suffix: str) -> str:
        return device_topic(self.device_id, suffix)

    def _envelope(self, body: dict[str, Any]) -> bytes:
        # The outbox puts a unique `id` and the per-device `seq` in front of every message.
        self.seq += 1
        return json.dumps({"id": uuid.uuid4().hex, "seq": self.seq, **body}).encode()

    def telemetry(self, now: float) -> tuple[str, bytes]:
        """The seed's telemetry message with plausible, jittered figures."""
        total = LOW_RAM_MB if self.low_ram else RAM_MB
        free = total * (0.06 if self.low_ram else 0.45) * self.rng.uniform(0.8, 1.2)
        p50 = self.rng.uniform(25.0, 40.0) * (1.8 if self.low_ram else 1.0)
        body = {
            "timestamp": iso(now),
            "device_id": self.device_id,
            "metrics": {
                "cpu_utilization": round(self.rng.uniform(5.0, 60.0), 1),
                "memory_free_mb": round(free, 1),
                "disk_free_gb": round(self.rng.uniform(4.0, 12.0), 2),
                "inference_latency_ms": round(p50, 2),
                "agent_status": "running",
                "model_version": self.release,
                "uptime_seconds": round(max(0.0, now - self.started), 1),
            },
            "logs": [],
            "device": {
                "type": self.device_type,
                "version": self.version,
                "slot": self.slot,
                "slot_status": self.slot_status,
                "memory_total_mb": total,
                "inference_p95_ms": round(p50 * 1.3, 2),
                "buffer_queued": self.rng.randint(0, 5),
            },
        }
        return self.topic(Topic.TELEMETRY), self._envelope(body)

    def alert_transitions(self, now: float) -> list[tuple[str, bytes]]:
        """Alerts that change state now: a low-RAM device's memory alert fires once."""
        out = []
        if self.low_ram and self.alerts.get("memory_available") != "firing":
            self.alerts["memory_available"] = "firing"
            body = {
                "device_id": self.device_id,
                "alertname": "memory_available",
                "state": "firing",
                "severity": "warning",
                "value": 6.0,
                "summary": "memory available below 10%",
                "labels": {},
                "since": iso(now),
                "at": iso(now),
                "acknowledged": False,
                "silenced": False,
            }
            out.append((self.topic(Topic.ALERTS), self._envelope(body)))
        return out

    def handle_command(self, payload: bytes, now: float) -> list[tuple[str, bytes]]:
        """The seam for signed commands: what this device publishes for a command document
        (verified with the real verifier; see simulator/ota.py)."""
        if self.ota is None:
            return []
        return self._out(self.ota.handle(payload, now), now)

    def advance(self, now: float) -> list[tuple[str, bytes]]:
        """What the device publishes as its pending update steps come due."""
        if self.ota is None:
            return []
        return self._out(self.ota.advance(now), now)

    def _out(
        self, messages: list[tuple[str, dict[str, Any]]], now: float
    ) -> list[tuple[str, bytes]]:
        out = []
        for suffix, body in messages:
            if suffix == Topic.TELEMETRY:
                out.append(self.telemetry(now))
                continue
            if suffix == Topic.ALERTS:
                self.alerts[str(body.get("alertname"))] = str(body.get("state"))
            out.append((self.topic(suffix), self._envelope(body)))
        return out
