"""A fixed snapshot source for UI tests (the dashboard must be deterministic in snapshots).

This stands in for the runtime only in Textual tests; the runtime itself is tested for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from edgetui.api import APIError, Disconnected, Notification
from edgetui.models import ResourceHistory, ResourceSample, Snapshot
from edgetui.models.sections import decode_section

# The judgement sections every fixed snapshot carries (a test passes `"alerts": None`, say,
# to show the dashboard without that part).
ALERTS: dict[str, Any] = {
    "alerts": [
        {
            "name": "disk_free_low",
            "severity": "warning",
            "state": "firing",
            "since": "2026-05-06T14:12:30.000Z",
            "value": 8.4,
            "summary": "disk free < 10%",
            "labels": {"device": "cam-042"},
            "acknowledged": True,
            "silenced_until": None,
        },
        {
            "name": "inference_p95_regression",
            "severity": "warning",
            "state": "pending",
            "since": "2026-05-06T14:28:10.000Z",
            "value": 1.62,
            "summary": "inference p95 above 1.5x the baseline for 5 min",
            "labels": {},
            "acknowledged": False,
            "silenced_until": None,
        },
        {
            "name": "agent_crash_loop",
            "severity": "critical",
            "state": "firing",
            "since": "2026-05-06T14:25:00.000Z",
            "value": 4,
            "summary": "agent sensor restarted >= 3 times in 10 min",
            "labels": {"agent": "sensor"},
            "acknowledged": False,
            "silenced_until": "2026-05-06T15:25:00.000Z",
        },
        {
            "name": "cpu_high",
            "severity": "critical",
            "state": "resolved",
            "since": "2026-05-06T13:02:00.000Z",
            "value": 41.0,
            "summary": "CPU > 90% for 5 min",
            "labels": {},
            "acknowledged": False,
            "silenced_until": None,
        },
    ],
    "counts": {"critical": 1, "warning": 2},
}
VALIDATION: dict[str, Any] = {
    "ok": True,
    "at": "2026-05-06T14:05:00.000Z",
    "phase": "manual",
    "version": "1.0.2",
    "golden": {"passed": 11, "total": 12, "bar": "11/12"},
    "golden_ok": True,
    "latency": {"p95_ms": 29.3, "baseline_p95_ms": 25.1, "ratio": 1.167},
    "checks": [
        {"name": "golden", "ok": True, "detail": "golden 11/12 >= 11/12"},
        {"name": "latency", "ok": True, "detail": "p95 29.3 ms vs baseline 25.1 ms"},
        {"name": "agents", "ok": True, "detail": "3 agent(s) up"},
        {"name": "model", "ok": True, "detail": "tiny.gguf matches sha256 3efa9431eed2"},
    ],
    "confidence_mean": 0.81,
    "duration_ms": 412.0,
}
DRIFT: dict[str, Any] = {
    "version": "1.0.2",
    "psi_max": 0.14,
    "psi": {"event_type": 0.02, "location": 0.05, "hour": 0.14, "reading": 0.03, "action": 0.07},
    "band": "moderate",
    "reference": {"source": "first_window", "samples": 200, "size": 200, "recorded_at": "x"},
    "window_samples": 200,
    "window_size": 200,
    "min_samples": 50,
    "confidence_mean": 0.74,
    "confidence_reference": 0.83,
    "confidence_drop": 0.09,
}
DEFAULT_SECTIONS: dict[str, Any] = {"alerts": ALERTS, "validation": VALIDATION, "drift": DRIFT}


def fixed_snapshot(mode: str = "standalone", sections: dict[str, Any] | None = None) -> Snapshot:
    """A plausible, fully deterministic snapshot (with DEFAULT_SECTIONS unless `sections`
    sets one of them to None)."""
    merged = {**DEFAULT_SECTIONS, **(sections or {})}
    wave = [20.0 + 15.0 * ((i * 7) % 11) / 10 for i in range(120)]
    return Snapshot(
        device_id="cam-042",
        device_type="camera",
        mode=mode,
        version="0.1.0",
        time="2026-05-06T14:30:00.000Z",
        resources=ResourceSample(
            cpu_percent=37.5,
            cpu_per_core=[42.0, 33.0],
            memory_total_mb=1984.0,
            memory_free_mb=812.0,
            disk_total_gb=29.5,
            disk_free_gb=10.2,
            temperature_c=51.5,
            load_avg=[0.42, 0.35, 0.3],
            net_rx_bps=15360.0,
            net_tx_bps=2048.0,
            uptime_seconds=93784.0,
            process_uptime_seconds=3600.0,
        ),
        history=ResourceHistory(
            cpu_percent=wave,
            memory_used_percent=[59.0 + (i % 5) / 10 for i in range(120)],
            disk_used_percent=[65.4] * 120,
            temperature_c=[50.0 + (i % 7) / 2 for i in range(120)],
            net_rx_bps=[1000.0 * (i % 9) for i in range(120)],
            net_tx_bps=[200.0 * (i % 4) for i in range(120)],
        ),
        # Decoded as a face receives them: each registered section as its type.
        sections={k: decode_section(k, v) for k, v in merged.items() if v is not None},
    )


class FakeAPI:
    """RuntimeAPI with a fixed snapshot; `drop()` simulates the daemon going away."""

    def __init__(self, snapshot: Snapshot | None = None, mode: str = "standalone") -> None:
        self.snapshot = snapshot or fixed_snapshot(mode)
        self._mode = mode
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.results: dict[str, Any] = {}
        self.notes: asyncio.Queue[Notification | None] = asyncio.Queue()
        self.closed = False

    @property
    def mode(self) -> str:
        return self._mode

    async def status(self) -> Snapshot:
        return self.snapshot

    async def subscribe(self, kinds: Sequence[str] = ("snapshot",)) -> AsyncIterator[Notification]:
        if "subscribed" in kinds:  # as the runtime does: "in place" comes first
            yield Notification("subscribed", {})
        yield Notification("snapshot", self.snapshot.to_dict())
        while True:
            note = await self.notes.get()
            if note is None:
                raise Disconnected()
            if note.kind in kinds:
                yield note

    def push(self, note: Notification) -> None:
        self.notes.put_nowait(note)

    def drop(self) -> None:
        self.notes.put_nowait(None)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        if method == "access.whoami" and method not in self.results:
            # The dashboard asks its role on connect; without a set result this fake is a
            # runtime without access control (and the question is not one of the calls).
            raise APIError(f"unknown method: {method}", code=-32601)
        self.calls.append((method, params or {}))
        result = self.results.get(method)
        if isinstance(result, Exception):
            raise result
        if callable(result):  # a real part's method, e.g. the kiosk PIN check
            return await result(params or {})
        if method not in self.results:
            raise APIError(f"unknown method: {method}", code=-32601)
        return result

    async def close(self) -> None:
        self.closed = True
