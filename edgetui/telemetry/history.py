"""Bounded per-metric history rings for sparklines."""

from __future__ import annotations

from collections import deque

from edgetui.models import ResourceHistory, ResourceSample


class History:
    """Keeps the last `size` values of each charted metric; O(1) per sample."""

    def __init__(self, size: int = 300) -> None:
        self.size = size
        self._rings: dict[str, deque[float]] = {
            name: deque(maxlen=size) for name in ResourceHistory.__dataclass_fields__
        }

    def add(self, s: ResourceSample) -> None:
        self._rings["cpu_percent"].append(s.cpu_percent)
        self._rings["memory_used_percent"].append(round(s.memory_used_percent, 1))
        self._rings["disk_used_percent"].append(round(s.disk_used_percent, 2))
        if s.temperature_c is not None:
            self._rings["temperature_c"].append(s.temperature_c)
        self._rings["net_rx_bps"].append(s.net_rx_bps)
        self._rings["net_tx_bps"].append(s.net_tx_bps)

    def export(self, last: int | None = None) -> ResourceHistory:
        """Copy of the rings (optionally only the `last` values of each)."""

        def take(name: str) -> list[float]:
            ring = self._rings[name]
            values = list(ring)
            return values[-last:] if last else values

        return ResourceHistory(**{name: take(name) for name in self._rings})
