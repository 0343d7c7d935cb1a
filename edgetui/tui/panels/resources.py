"""Resources panel: CPU (total and per core), memory, disk, temperature, load, network."""

from __future__ import annotations

from rich.text import Text

from edgetui.models import Snapshot
from edgetui.tui.glyphs import bar, level_style, sparkline
from edgetui.tui.panels.base import Panel
from edgetui.units import human_bytes, human_duration

LABEL = 6  # "CPU   "
FIGURE = 22  # " 12.3%  1234/7890 MB "


class ResourcesPanel(Panel):
    """Gauges with sparklines; everything comes from the snapshot, nothing is sampled here."""

    TITLE = "Resources"
    FULL_WIDTH = True
    # Always six lines: a fixed height lets every update skip layout (layout=False).
    DEFAULT_CSS = "ResourcesPanel { height: 8; }"

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        self.update(self.render_text(snap, max(self.size.width - 2, 40)), layout=False)

    @staticmethod
    def render_text(snap: Snapshot, width: int) -> Text:
        r, h = snap.resources, snap.history
        gauge_w = max(10, min(30, (width - LABEL - FIGURE) // 2))
        spark_w = max(0, width - LABEL - FIGURE - gauge_w - 2)
        mem_total = r.memory_total_mb
        mem_used = mem_total - r.memory_free_mb
        temp_pct = None if r.temperature_c is None else r.temperature_c  # 100 °C is full scale
        rows: list[tuple[str, float | None, str, list[float], float | None, float | None]] = [
            ("CPU", r.cpu_percent, f"{r.cpu_percent:5.1f}%", h.cpu_percent, 0.0, 100.0),
            (
                "Mem",
                r.memory_used_percent,
                f"{r.memory_used_percent:5.1f}% {mem_used / 1024:.1f}/{mem_total / 1024:.1f}G",
                h.memory_used_percent,
                0.0,
                100.0,
            ),
            (
                "Disk",
                r.disk_used_percent,
                f"{r.disk_used_percent:5.1f}% {r.disk_free_gb:.1f}G free",
                h.disk_used_percent,
                None,
                None,
            ),
            (
                "Temp",
                temp_pct,
                "  n/a" if r.temperature_c is None else f"{r.temperature_c:5.1f}°C",
                h.temperature_c,
                None,
                None,
            ),
        ]
        out = Text(no_wrap=True, overflow="ellipsis")
        for label, pct, figure, series, lo, hi in rows:
            out.append(f"{label:<{LABEL}}", style="bold")
            warn, crit = (70.0, 85.0) if label == "Temp" else (75.0, 90.0)
            out.append_text(bar(pct, gauge_w, warn=warn, crit=crit))
            out.append(f" {figure:<{FIGURE - 1}}", style=level_style(pct, warn, crit))
            if spark_w:
                out.append_text(sparkline(series, spark_w, lo=lo, hi=hi))
            out.append("\n")
        out.append(f"{'Cores':<{LABEL}}", style="bold")
        core_w = max(4, min(10, (width - LABEL) // max(len(r.cpu_per_core), 1) - 5))
        for i, pct in enumerate(r.cpu_per_core):
            out.append(f"{i}:", style="dim")
            out.append_text(bar(pct, core_w))
            out.append(f"{pct:3.0f}% ", style=level_style(pct))
        out.append("\n")
        load = " ".join(f"{x:.2f}" for x in r.load_avg) or "n/a"
        out.append(f"{'Load':<{LABEL}}", style="bold")
        out.append(f"{load}   ")
        out.append("Net ", style="bold")
        out.append(f"↓{human_bytes(r.net_rx_bps)}/s ↑{human_bytes(r.net_tx_bps)}/s   ")
        out.append("Up ", style="bold")
        out.append(f"{human_duration(r.uptime_seconds)}")
        out.append(f" (edgetui {human_duration(r.process_uptime_seconds)})", style="dim")
        return out
