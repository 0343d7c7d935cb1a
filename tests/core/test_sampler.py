"""The psutil sampler against /proc, and the history ring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgetui.models import ResourceSample
from edgetui.telemetry import History, Sampler


def proc_meminfo_mb(key: str) -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="needs Linux /proc")
def test_sample_matches_proc(tmp_path: Path) -> None:
    s = Sampler(tmp_path).sample()
    total = proc_meminfo_mb("MemTotal")
    assert abs(s.memory_total_mb - total) / total < 0.01
    available = proc_meminfo_mb("MemAvailable")
    assert abs(s.memory_free_mb - available) / available < 0.10  # moves between the reads
    assert len(s.cpu_per_core) == os.cpu_count()
    assert all(0.0 <= c <= 100.0 for c in s.cpu_per_core)
    assert 0.0 <= s.cpu_percent <= 100.0
    st = os.statvfs(tmp_path)
    free_gb = st.f_bavail * st.f_frsize / 1e9
    assert abs(s.disk_free_gb - free_gb) < 0.5
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    assert abs(s.uptime_seconds - uptime) < 5
    assert s.load_avg == pytest.approx(list(os.getloadavg()), abs=0.5)
    assert s.temperature_c is None or -40 < s.temperature_c < 150


def test_cpu_measures_load_between_samples(tmp_path: Path) -> None:
    sampler = Sampler(tmp_path)
    sampler.sample()
    x = 0
    for i in range(3_000_000):  # keep one core busy for a moment
        x += i
    s = sampler.sample()
    assert max(s.cpu_per_core) > 0.0


def _sample(cpu: float, temp: float | None) -> ResourceSample:
    return ResourceSample(cpu, [cpu], 1000.0, 250.0, 10.0, 5.0, temp, [0.1], 1.0, 2.0, 10.0, 5.0)


def test_history_is_bounded_and_skips_missing_temperature() -> None:
    h = History(size=5)
    for i in range(12):
        h.add(_sample(float(i), None if i % 2 else 40.0))
    out = h.export()
    assert out.cpu_percent == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert out.memory_used_percent == [75.0] * 5
    assert len(out.temperature_c) == 5 and set(out.temperature_c) == {40.0}
    assert h.export(last=2).cpu_percent == [10.0, 11.0]
