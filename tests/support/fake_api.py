"""A fixed snapshot source for UI tests (the dashboard must be deterministic in snapshots).

This stands in for the runtime only in Textual tests; the runtime itself is tested for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from edgetui.api import APIError, Disconnected, Notification
from edgetui.models import ResourceHistory, ResourceSample, Snapshot


def fixed_snapshot(mode: str = "standalone", sections: dict[str, Any] | None = None) -> Snapshot:
    """A plausible, fully deterministic snapshot."""
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
        sections=sections or {},
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
