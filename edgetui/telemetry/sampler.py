"""psutil sampler: CPU, memory, disk, temperature, load, network, uptimes.

Every call here is a cheap read of /proc or /sys; there is no process scan on the hot path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

from edgetui.models import ResourceSample

MIN_CPU_WINDOW_S = 0.25


def _round(x: float, nd: int = 1) -> float:
    return round(float(x), nd)


class Sampler:
    """Takes ResourceSamples; rates (CPU %, network) are measured between calls."""

    def __init__(self, disk_path: Path | str = "/") -> None:
        self.disk_path = str(disk_path)
        self._proc = psutil.Process(os.getpid())
        self._proc_start = self._proc.create_time()
        self._last_net: tuple[float, int, int] | None = None
        # Prime the CPU counters so the first real sample measures an interval.
        psutil.cpu_percent(interval=None)
        psutil.cpu_percent(interval=None, percpu=True)
        self._last_cpu_read = time.monotonic()
        # Fire-drill hook (`edgetui drill disk-full`): report this much free disk (GB)
        # instead of the measured figure; None = measure. The only figure ever simulated.
        self.drill_disk_free_gb: float | None = None

    @staticmethod
    def temperature() -> float | None:
        """Hottest CPU-ish sensor in °C, or None where the platform exposes none."""
        try:
            temps = psutil.sensors_temperatures()
        except (AttributeError, OSError):
            return None
        if not temps:
            return None
        preferred = ("coretemp", "cpu_thermal", "k10temp", "zenpower", "soc_thermal", "acpitz")
        for name in preferred:
            if temps.get(name):
                return _round(max(t.current for t in temps[name]))
        readings = [t.current for entries in temps.values() for t in entries]
        return _round(max(readings)) if readings else None

    def _net_rates(self) -> tuple[float, float]:
        now = time.monotonic()
        try:
            io = psutil.net_io_counters()
        except OSError:
            return 0.0, 0.0
        if io is None:
            return 0.0, 0.0
        rx, tx = 0.0, 0.0
        if self._last_net is not None:
            t0, rx0, tx0 = self._last_net
            dt = max(now - t0, 1e-6)
            rx, tx = max(io.bytes_recv - rx0, 0) / dt, max(io.bytes_sent - tx0, 0) / dt
        self._last_net = (now, io.bytes_recv, io.bytes_sent)
        return _round(rx), _round(tx)

    def sample(self) -> ResourceSample:
        """Read every figure once (blocks up to 0.25 s on the very first call)."""
        since = time.monotonic() - self._last_cpu_read
        if since < MIN_CPU_WINDOW_S:
            # CPU % over a near-zero window is noise; a one-shot `status` waits a moment.
            time.sleep(MIN_CPU_WINDOW_S - since)
        self._last_cpu_read = time.monotonic()
        vm = psutil.virtual_memory()
        try:
            du = psutil.disk_usage(self.disk_path)
            disk_total, disk_free = du.total / 1e9, du.free / 1e9
            if self.drill_disk_free_gb is not None:
                disk_free = min(disk_free, self.drill_disk_free_gb)
        except OSError:
            disk_total, disk_free = 0.0, 0.0
        try:
            load = [_round(x, 2) for x in os.getloadavg()]
        except OSError:
            load = []
        rx, tx = self._net_rates()
        now = time.time()
        return ResourceSample(
            cpu_percent=_round(psutil.cpu_percent(interval=None)),
            cpu_per_core=[_round(x) for x in psutil.cpu_percent(interval=None, percpu=True)],
            memory_total_mb=_round(vm.total / 2**20),
            memory_free_mb=_round(vm.available / 2**20),
            disk_total_gb=_round(disk_total, 2),
            disk_free_gb=_round(disk_free, 2),
            temperature_c=self.temperature(),
            load_avg=load,
            net_rx_bps=rx,
            net_tx_bps=tx,
            uptime_seconds=_round(now - psutil.boot_time(), 0),
            process_uptime_seconds=_round(now - self._proc_start, 0),
        )
