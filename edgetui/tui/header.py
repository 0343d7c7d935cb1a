"""Top line: device, mode, version, clock; and the connection banner below it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from edgetui.models import Snapshot
from edgetui.models.alerts import AlertCounts, AlertsSection


class StatusHeader(Static):
    """One line that never changes size (so updates skip layout)."""

    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $primary; color: $text; padding: 0 1; }
    """

    def __init__(self, *, kiosk: bool, readonly: bool, low_bandwidth: str | None = None) -> None:
        super().__init__(id="status-header")
        self.kiosk = kiosk
        self.readonly = readonly
        self.low_bandwidth = low_bandwidth  # why the dashboard draws for a slow line
        self.device = "…"
        self.mode = "connecting"
        self.version = ""
        self.clock = ""
        self.role: str | None = None  # the caller's [access] role, once the runtime said it
        self.alerts: AlertCounts | None = None  # the `alerts` section's counts
        self.metrics_down: str | None = None  # why /metrics is not served (the exporter retries)

    def set_snapshot(self, snap: Snapshot) -> None:
        self.device = f"{snap.device_id} ({snap.device_type})"
        self.mode = snap.mode
        self.version = snap.version
        section = snap.sections.get("alerts")
        self.alerts = section.counts if isinstance(section, AlertsSection) else None
        self.metrics_down = metrics_down(snap.sections.get("metrics"))
        self.refresh_line()

    def set_clock(self, clock: str) -> None:
        self.clock = clock
        self.refresh_line()

    def refresh_line(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("edgetui ", style="bold")
        t.append(self.device)
        t.append("  │  ")
        t.append(self.mode, style="bold reverse" if self.mode != "standalone" else "bold")
        if self.role:
            t.append(f"  role {self.role}", style="bold" if self.role == "admin" else "bold cyan")
        if self.kiosk:
            t.append("  kiosk", style="bold yellow")
        if self.readonly:
            t.append("  read-only", style="bold yellow")
        if self.low_bandwidth:
            t.append(f"  low-bandwidth ({self.low_bandwidth})", style="bold yellow")
        if self.alerts is not None:
            t.append("  │  ")
            t.append_text(alert_badge(self.alerts))
        if self.metrics_down:
            t.append("  │  ")
            t.append(self.metrics_down, style="bold black on yellow")
        version = f"  │  v{self.version}" if self.version else ""
        clock = f"  │  {self.clock}"
        # On a narrow terminal the version gives way, so the badge and the clock stay.
        room = self.size.width - 2 - t.cell_len - len(clock)
        if room >= len(version) or not self.size.width:
            t.append(version)
        t.append(clock)
        self.update(t, layout=False)

    def on_resize(self) -> None:
        self.refresh_line()


def metrics_down(section: Any) -> str | None:
    """ "/metrics retrying (address in use)" while the exporter cannot bind its address;
    None while it serves, or without a listen address."""
    listen = section.get("listen") if isinstance(section, dict) else None
    if not isinstance(listen, dict) or listen.get("state") == "serving":
        return None
    return f"/metrics {listen.get('state')} ({listen.get('error') or 'not bound'})"


def alert_badge(counts: AlertCounts) -> Text:
    """ "▲ 1 crit 2 warn" in the colour of the worst, or a quiet "no alerts"."""
    crit, warn = int(counts.critical or 0), int(counts.warning or 0)
    if not crit and not warn:
        return Text("no alerts", style="green")
    t = Text("▲ ", style="bold red" if crit else "bold yellow")
    t.append(f"{crit} crit", style="bold white on red" if crit else "")
    t.append(" ")
    t.append(f"{warn} warn", style="bold black on yellow" if warn else "")
    return t


class Banner(Static):
    """Shown only while something is wrong with the connection to the runtime."""

    DEFAULT_CSS = """
    Banner { height: 1; background: $error; color: $text; text-style: bold; padding: 0 1;
             display: none; }
    Banner.-shown { display: block; }
    """

    def say(self, message: str | None) -> None:
        self.set_class(bool(message), "-shown")
        self.update(message or "")
