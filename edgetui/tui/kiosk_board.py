"""The kiosk board: what a screen on a device must say from across a room, in big digits and
high contrast (CPU, temperature, alerts firing) and one word for the verdict. Only in
`--kiosk`; every figure is the snapshot's (a sensor the platform lacks shows `--`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from edgetui.models import Snapshot
from edgetui.models.alerts import AlertsSection, AlertState
from edgetui.models.doctor import DoctorReport


class Tile(Vertical):
    """A label over one big number."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id, classes="tile")
        self.label = label

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="tile-label")
        yield Digits("--")

    def show(self, value: str, level: str) -> None:
        """The number, and its level (ok, warn, crit) as the tile's colour."""
        self.query_one(Digits).update(value)
        for name in ("ok", "warn", "crit"):
            self.set_class(name == level, f"-{name}")


def _level(value: float | None, warn: float, crit: float) -> str:
    if value is None:
        return "ok"
    return "crit" if value >= crit else "warn" if value >= warn else "ok"


def verdict(snap: Snapshot) -> tuple[str, str]:
    """(the word, its level): the doctor's state when it runs, else the alerts' counts."""
    report = snap.sections.get("doctor")
    if isinstance(report, DoctorReport):
        level = {"OK": "ok", "WARNING": "warn", "CRITICAL": "crit"}.get(report.state, "warn")
        n = len(report.findings)
        return ("ALL OK" if n == 0 else f"{report.state}: {n} wrong, see What's wrong"), level
    alerts = snap.sections.get("alerts")
    if isinstance(alerts, AlertsSection):
        firing = [a for a in alerts.alerts if a.state == AlertState.FIRING]
        if not firing:
            return "ALL OK", "ok"
        crit = any(a.severity == "critical" for a in firing)
        return f"{len(firing)} ALERT(S) FIRING", "crit" if crit else "warn"
    return "NO ALERT ENGINE", "warn"


class KioskBoard(Vertical):
    """Three tiles and the verdict line, above the panels in kiosk mode."""

    DEFAULT_CSS = """
    KioskBoard { height: auto; margin: 0 0 1 0; }
    KioskBoard Horizontal { height: auto; }
    KioskBoard .tile { width: 1fr; height: auto; border: heavy white; padding: 0 1; }
    KioskBoard .tile-label { text-style: bold; color: white; }
    KioskBoard .tile.-ok Digits { color: ansi_bright_green; }
    KioskBoard .tile.-warn Digits { color: ansi_bright_yellow; }
    KioskBoard .tile.-crit Digits { color: ansi_bright_red; }
    KioskBoard #verdict { height: 3; content-align: center middle; text-style: bold;
                          border: heavy white; }
    KioskBoard #verdict.-ok { background: ansi_green; color: black; }
    KioskBoard #verdict.-warn { background: ansi_yellow; color: black; }
    KioskBoard #verdict.-crit { background: ansi_red; color: white; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Tile("CPU %", id="tile-cpu")
            yield Tile("TEMPERATURE °C", id="tile-temp")
            yield Tile("ALERTS FIRING", id="tile-alerts")
        yield Static("", id="verdict")

    def show(self, snap: Snapshot) -> None:
        """The snapshot's figures in the tiles, the verdict below them."""
        r = snap.resources
        self.query_one("#tile-cpu", Tile).show(
            f"{r.cpu_percent:.0f}", _level(r.cpu_percent, 80, 95)
        )
        temp = r.temperature_c
        self.query_one("#tile-temp", Tile).show(
            "--" if temp is None else f"{temp:.0f}", _level(temp, 75, 85)
        )
        alerts = snap.sections.get("alerts")
        firing = (
            sum(a.state == AlertState.FIRING for a in alerts.alerts)
            if isinstance(alerts, AlertsSection)
            else None
        )
        self.query_one("#tile-alerts", Tile).show(
            "--" if firing is None else str(firing), "crit" if firing else "ok"
        )
        word, level = verdict(snap)
        line = self.query_one("#verdict", Static)
        line.update(word)
        for name in ("ok", "warn", "crit"):
            line.set_class(name == level, f"-{name}")
