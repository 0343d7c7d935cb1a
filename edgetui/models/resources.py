"""Resource figures sampled from the device (psutil)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ResourceSample:
    """One telemetry sample: the `resources` section of a snapshot."""

    cpu_percent: float
    cpu_per_core: list[float]
    memory_total_mb: float
    memory_free_mb: float
    disk_total_gb: float
    disk_free_gb: float
    temperature_c: float | None
    load_avg: list[float]
    net_rx_bps: float
    net_tx_bps: float
    uptime_seconds: float
    process_uptime_seconds: float

    @property
    def memory_used_percent(self) -> float:
        if not self.memory_total_mb:
            return 0.0
        return 100.0 * (1.0 - self.memory_free_mb / self.memory_total_mb)

    @property
    def disk_used_percent(self) -> float:
        if not self.disk_total_gb:
            return 0.0
        return 100.0 * (1.0 - self.disk_free_gb / self.disk_total_gb)


@dataclass
class ResourceHistory:
    """Recent values for sparklines, oldest first, one value per sample."""

    cpu_percent: list[float] = field(default_factory=list)
    memory_used_percent: list[float] = field(default_factory=list)
    disk_used_percent: list[float] = field(default_factory=list)
    temperature_c: list[float] = field(default_factory=list)
    net_rx_bps: list[float] = field(default_factory=list)
    net_tx_bps: list[float] = field(default_factory=list)
