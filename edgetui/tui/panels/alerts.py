"""Alerts panel: firing alerts first, coloured by severity, with since, value and rule; `a`
acknowledges, `s` silences (behind the PIN in kiosk mode, hidden in --readonly). It reads the
`alerts` section only; without it the alert engine is not running, and the panel says so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from edgetui.models import Snapshot
from edgetui.models.alerts import AlertItem, AlertsSection
from edgetui.models.clock import parse_rfc3339
from edgetui.tui.panels.base import Panel, PanelAction

SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
STATE_ORDER = {"firing": 0, "pending": 1}
SEVERITY_ORDER = {"critical": 0, "warning": 1}
MAX_ROWS = 6


def _ts(value: Any) -> datetime | None:
    try:
        return parse_rfc3339(value, assume_utc=True)
    except ValueError:
        return None


def _ago(since: Any, now: Any) -> str:
    start, end = _ts(since), _ts(now)
    if start is None or end is None:
        return ""
    s = max(int((end - start).total_seconds()), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s < 86400 else f"{s // 86400}d"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "—" if value is None else str(value)


def ordered(alerts: list[AlertItem]) -> list[AlertItem]:
    """Firing first, then pending, then the rest; critical before warning; then by name."""
    return sorted(
        alerts,
        key=lambda a: (
            STATE_ORDER.get(str(a.state), 2),
            SEVERITY_ORDER.get(str(a.severity), 2),
            str(a.name),
        ),
    )


class AlertsPanel(Panel):
    """Always mounted: "alerts not running" is worth saying."""

    SECTION = None
    TITLE = "Alerts"
    FULL_WIDTH = True
    ACTIONS = (
        PanelAction("a", "ack", "Alert acknowledge"),
        PanelAction("s", "silence", "Alert silence"),
    )
    DEFAULT_CSS = "AlertsPanel { min-height: 3; }"
    _shown: Any = None
    _lines = 0

    def actions_ready(self) -> bool:
        return self._last is not None and "alerts" in self._last.sections

    def show(self, snap: Snapshot) -> None:
        was_ready = self.actions_ready()
        self._last = snap
        if self.actions_ready() != was_ready:
            self.app.refresh_bindings()  # `a` and `s` come and go with the alert engine
        section = snap.sections.get("alerts")
        key = (section, snap.time[:19] if section else None)
        if key == self._shown:
            return  # the same alerts and the same second: nothing to repaint
        self._shown = key
        text = self.render_text(section, snap.time, max(self.size.width - 2, 40))
        lines = text.plain.count("\n") + 1
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    def on_resize(self) -> None:
        self._shown = None
        super().on_resize()

    @staticmethod
    def render_text(section: AlertsSection | None, now: str, width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        if section is None:
            out.append("alerts not running", style="dim")
            return out
        alerts = ordered(list(section.alerts or []))
        active = [a for a in alerts if a.state in STATE_ORDER]
        if not active:
            out.append("✓ no alert firing or pending", style="green")
            return out
        name_w = min(max(len(str(a.name)) for a in active[:MAX_ROWS]), 28)
        for a in active[:MAX_ROWS]:
            sev = str(a.severity)
            style = SEVERITY_STYLE.get(sev, "")
            firing = a.state == "firing"
            out.append("● " if firing else "○ ", style=style)
            out.append(f"{sev[:4].upper():<5}", style=style)
            out.append(f"{a.name!s:<{name_w}} ", style="bold" if firing else "")
            out.append(f"{a.state!s:<8}", style=style if firing else "dim")
            since = str(a.since or "")
            ago = _ago(since, now)
            out.append(f" since {since[11:19] or '-'}" + (f" ({ago})" if ago else ""), style="dim")
            out.append(f"  = {_value(a.value)}")
            if a.acknowledged:
                out.append("  ✓ack", style="cyan")
            if a.silenced_until:
                out.append(f"  muted→{str(a.silenced_until)[11:16]}", style="magenta")
            if a.summary:
                out.append(f"  {a.summary}", style="italic")
            out.append("\n")
        if len(active) > MAX_ROWS:
            out.append(f"… and {len(active) - MAX_ROWS} more (edgetui alerts)\n", style="dim")
        out.rstrip()
        lines = out.split("\n")
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)

    # -- actions ----------------------------------------------------------------------
    def _candidates(self, *, silence: bool) -> list[AlertItem] | None:
        section = self._last.sections.get("alerts") if self._last else None
        if section is None:
            self.app.notify("alerts not running", severity="warning")
            return None
        rows = ordered(list(section.alerts or []))
        rows = [a for a in rows if a.state in STATE_ORDER]
        if not silence:
            rows = [a for a in rows if not a.acknowledged]
        if not rows:
            self.app.notify("no alert to " + ("silence" if silence else "acknowledge"))
            return None
        return rows

    async def _pick(self, *, silence: bool) -> dict[str, Any] | None:
        from edgetui.tui.screens.alert_action import AlertActionScreen

        rows = self._candidates(silence=silence)
        if rows is None or self.api is None:
            return None
        return await self.app.push_screen_wait(AlertActionScreen(rows, silence=silence))

    async def do_ack(self) -> None:
        choice = await self._pick(silence=False)
        if choice is not None and self.api is not None:
            await self.api.call("alerts.ack", {"name": choice["name"]})
            self.app.notify(f"{choice['name']} acknowledged", title="Alerts")

    async def do_silence(self) -> None:
        choice = await self._pick(silence=True)
        if choice is not None and self.api is not None:
            await self.api.call("alerts.silence", choice)
            self.app.notify(
                f"{choice['name']} silenced for {choice['for_s'] / 60:g} min", title="Alerts"
            )
