"""Device messages as devices publish them (topic, payload bytes), for the fleet tests."""

from __future__ import annotations

import json
from typing import Any

from edgetui.fleet.messages import Update, parse
from edgetui.fleet.records import iso

T0 = 1_780_000_000.0  # a fixed "now" (2026-05-28) so that every test is deterministic


def telemetry(dev: str, ts: float, cpu: float = 10.0, **device: Any) -> tuple[str, bytes]:
    block = {
        "type": "camera",
        "version": "0.1.0",
        "slot": "a",
        "slot_status": "committed",
        "memory_total_mb": 2048.0,
        "inference_p95_ms": 40.0,
        "buffer_queued": 3,
        **device,
    }
    body = {
        "id": "x",
        "seq": 1,
        "timestamp": iso(ts),
        "device_id": dev,
        "metrics": {
            "cpu_utilization": cpu,
            "memory_free_mb": 1024.0,
            "disk_free_gb": 10.0,
            "inference_latency_ms": 30.0,
            "agent_status": "running",
            "model_version": "1.0.0",
            "uptime_seconds": 60.0,
        },
        "logs": [],
        "device": block,
    }
    return f"devices/{dev}/telemetry", json.dumps(body).encode()


def status(dev: str, text: str) -> tuple[str, bytes]:
    return f"devices/{dev}/status", text.encode()


def alert(
    dev: str, name: str, state: str, severity: str, at: float, **labels: Any
) -> tuple[str, bytes]:
    body = {
        "device_id": dev,
        "alertname": name,
        "state": state,
        "severity": severity,
        "value": 95.0,
        "summary": f"{name} on {dev}",
        "labels": labels,
        "since": iso(at),
        "at": iso(at),
        "acknowledged": False,
        "silenced": False,
    }
    return f"devices/{dev}/alerts", json.dumps(body).encode()


def result(dev: str, command_id: str, state: str, at: float, **extra: Any) -> tuple[str, bytes]:
    body = {"command_id": command_id, "state": state, "at": iso(at), **extra}
    return f"devices/{dev}/commands/result", json.dumps(body).encode()


def updates(*msgs: tuple[str, bytes], received: float = T0) -> list[Update]:
    return [parse(t, p, received) for t, p in msgs]
