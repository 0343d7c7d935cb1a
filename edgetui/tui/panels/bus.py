"""Bus panel: the live event log (bounded), a type filter, pause, and a test-event key."""

from __future__ import annotations

import collections
import json
from fnmatch import fnmatchcase
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, RichLog, Static

from edgetui.api import APIError, Notification
from edgetui.models import Snapshot
from edgetui.tui.panels.base import Panel, PanelAction

MAX_LINES = 500  # events kept (and lines shown); older ones fall off both
TYPE_W = 16
TYPE_STYLES = {"MOTION_DETECTED": "yellow", "SPEAK_WARNING": "bold red", "NOTIFY": "magenta"}


def event_line(ev: dict[str, Any]) -> Text:
    """One log line: clock, type, agent (last part of the source), data."""
    t = str(ev.get("time", ""))
    clock = t[11:23] if len(t) >= 23 else t
    type_ = str(ev.get("type", "?"))
    agent = str(ev.get("source", "?")).rstrip("/").rsplit("/", 1)[-1]
    data = json.dumps(ev.get("data") or {}, separators=(",", ":"), ensure_ascii=False)
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{clock} ", style="dim")
    line.append(f"{type_:<{TYPE_W}} ", style=TYPE_STYLES.get(type_, "cyan"))
    line.append(f"{agent:<8} ", style="green")
    line.append(data)
    return line


class _FilterInput(Input):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def action_cancel(self) -> None:
        panel = next((a for a in self.ancestors if isinstance(a, BusPanel)), None)
        if panel is not None:
            panel.close_filter()


class BusPanel(Panel):
    """Recent bus events as they happen; everything shown came from the runtime."""

    SECTION = "bus"
    # "subscribed": the feed is (again) in place, e.g. after the daemon came back; the
    # history then holds what happened while it was away.
    KINDS = ("subscribed", "event")
    TITLE = "Bus"
    ACTIONS = (
        PanelAction("slash", "filter", "Bus filter", mutating=False),
        PanelAction("z", "pause", "Bus pause", mutating=False),
        PanelAction("m", "test_motion", "Test motion", mutating=True, method="bus.publish"),
    )
    DEFAULT_CSS = """
    BusPanel { height: 14; min-height: 14; }
    BusPanel > #bus-stats { height: 1; }
    BusPanel > RichLog {
        height: 1fr; background: transparent; overflow-x: hidden; scrollbar-size-vertical: 1;
    }
    BusPanel > Input { display: none; height: 3; }
    BusPanel > Input.-open { display: block; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_LINES)
        self._ids: set[str] = set()
        self.type_filter = "*"
        self.paused = False
        self.unseen = 0  # matching events that arrived while paused
        self._device = ""
        self._stats = ""
        self._section: dict[str, Any] = {}
        self._ready = False  # children composed (show() may come first)

    def compose(self) -> ComposeResult:
        yield Static(id="bus-stats")
        yield RichLog(max_lines=MAX_LINES, min_width=20, wrap=False, id="bus-log")
        yield _FilterInput(placeholder="type filter, e.g. MOTION_* (empty: all)", id="bus-filter")

    def on_mount(self) -> None:
        super().on_mount()
        self._ready = True
        self.rewrite()  # whatever arrived between mount() and compose
        self._load_history()

    @property
    def log_widget(self) -> RichLog:
        return self.query_one("#bus-log", RichLog)

    # -- data -------------------------------------------------------------------------
    @work(exclusive=True, group="bus-history")
    async def _load_history(self) -> None:
        api = self.api
        if api is None:
            return
        try:
            recent = await api.call("bus.history", {"limit": MAX_LINES})
        except APIError:
            return
        # History first, then what only this panel holds (live ones that arrived meanwhile,
        # or old ones a restarted daemon no longer has); a stable sort by time keeps the
        # history's order for events of the same millisecond.
        recent = [ev for ev in recent if isinstance(ev, dict)]
        known = {ev.get("id") for ev in recent}
        merged = recent + [ev for ev in self.events if ev.get("id") not in known]
        merged.sort(key=lambda ev: str(ev.get("time", "")))
        self.events.clear()
        self._ids.clear()
        for ev in merged:
            self._add(ev)
        self.rewrite()

    def _add(self, ev: dict[str, Any]) -> None:
        if len(self.events) == self.events.maxlen:
            self._ids.discard(self.events[0].get("id", ""))
        self.events.append(ev)
        self._ids.add(ev.get("id", ""))

    def matches(self, ev: dict[str, Any]) -> bool:
        return fnmatchcase(str(ev.get("type", "")), self.type_filter)

    def on_note(self, note: Notification) -> None:
        if note.kind == "subscribed":
            if self._ready:
                self._load_history()
            return
        ev = note.data
        if not isinstance(ev, dict) or ev.get("id") in self._ids:
            return
        self._add(ev)
        if not self.matches(ev) or not self._ready:
            return
        if self.paused:
            self.unseen += 1
            self._render_stats()
        else:
            self.log_widget.write(event_line(ev))

    def rewrite(self) -> None:
        """Redraw the log from the kept events (after a filter change or resume)."""
        log = self.log_widget
        log.clear()
        for ev in self.events:
            if self.matches(ev):
                log.write(event_line(ev))
        self._render_stats()

    def show(self, snap: Snapshot) -> None:
        self._device = snap.device_id
        section = self.section(snap)
        self._section = section if isinstance(section, dict) else {}
        self._render_stats()

    def _render_stats(self) -> None:
        s = self._section
        bridge = s.get("bridge") or {}
        state = str(bridge.get("state", "disabled"))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"published {s.get('published', 0)}  ")
        dropped = int(s.get("dropped", 0) or 0)
        text.append(f"dropped {dropped}  ", style="bold yellow" if dropped else "")
        text.append(f"subs {len(s.get('subscribers') or [])}  ")
        text.append("bridge ")
        style = {"connected": "green", "disabled": "dim"}.get(state, "bold red")
        text.append(state, style=style)
        if state != "disabled" and bridge.get("rejected"):
            text.append(f" ({bridge['rejected']} bad msgs)", style="yellow")
        text.append(
            f"  filter {self.type_filter}", style="bold" if self.type_filter != "*" else "dim"
        )
        if self.paused:
            text.append(f"  PAUSED +{self.unseen}", style="reverse bold")
        key = text.plain
        if self._ready and key != self._stats:  # repaint only on change: cheap over a slow link
            self._stats = key
            self.query_one("#bus-stats", Static).update(text)

    # -- actions ----------------------------------------------------------------------
    async def do_filter(self) -> None:
        box = self.query_one("#bus-filter", Input)
        box.value = "" if self.type_filter == "*" else self.type_filter
        box.add_class("-open")
        box.focus()

    def close_filter(self) -> None:
        box = self.query_one("#bus-filter", Input)
        box.remove_class("-open")
        self.app.set_focus(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.type_filter = event.value.strip() or "*"
        self.close_filter()
        self.rewrite()

    async def do_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.unseen = 0
            self._render_stats()
        else:
            self.rewrite()

    async def do_test_motion(self) -> None:
        api = self.api
        if api is None:
            raise APIError("not connected to the runtime")
        params: dict[str, Any] = {
            "type": "MOTION_DETECTED",
            "data": {"location": "technician_test", "test": True},
        }
        if self._device:
            params["source"] = f"edgetui://{self._device}/tui"
        ev = await api.call("bus.publish", params)
        self.app.notify(f"Published test MOTION_DETECTED ({str(ev.get('id', ''))[:8]})")
