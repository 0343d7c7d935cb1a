"""Human-readable text for headless commands (the JSON forms are the stable contract)."""

from __future__ import annotations

from edgetui.models import Snapshot
from edgetui.models.serde import to_dict


def _fmt(value: float | None, unit: str, nd: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{nd}f}{unit}"


def render_status(snap: Snapshot, *, brief: bool = False) -> str:
    """A few aligned lines (or one line with brief=True) describing the snapshot."""
    r = snap.resources
    if brief:
        return (
            f"{snap.time} cpu {r.cpu_percent:5.1f}% mem free {r.memory_free_mb:.0f} MB "
            f"disk free {r.disk_free_gb:.1f} GB temp {_fmt(r.temperature_c, '°C')}"
        )
    cores = " ".join(f"{c:.0f}" for c in r.cpu_per_core)
    lines = [
        f"device     {snap.device_id} ({snap.device_type})  edgetui {snap.version}  [{snap.mode}]",
        f"time       {snap.time}",
        f"cpu        {r.cpu_percent:.1f}%  per core: {cores}  load {r.load_avg}",
        f"memory     {r.memory_free_mb:.0f} MB free of {r.memory_total_mb:.0f} MB",
        f"disk       {r.disk_free_gb:.2f} GB free of {r.disk_total_gb:.2f} GB",
        f"temp       {_fmt(r.temperature_c, ' °C')}",
        f"network    rx {r.net_rx_bps / 1024:.1f} KiB/s  tx {r.net_tx_bps / 1024:.1f} KiB/s",
        f"uptime     {r.uptime_seconds:.0f} s (edgetui {r.process_uptime_seconds:.0f} s)",
    ]
    for name in sorted(snap.sections):
        lines.append(f"{name:<10} {to_dict(snap.sections[name])}")  # typed: as its JSON
    return "\n".join(lines)
