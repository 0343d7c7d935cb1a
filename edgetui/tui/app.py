"""EdgeApp: the dashboard. Speaks only to a RuntimeAPI handed to it by a connector."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgetui.api import APIError, Disconnected, Notification, RuntimeAPI
from edgetui.models import Snapshot
from edgetui.models.kiosk import KioskSection
from edgetui.tui import glyphs
from edgetui.tui.header import Banner, StatusHeader
from edgetui.tui.kiosk_board import KioskBoard
from edgetui.tui.panels import PANELS, Panel, PanelAction
from edgetui.tui.screens.confirm import ConfirmScreen
from edgetui.tui.screens.help import HelpScreen
from edgetui.tui.screens.pin import PinScreen

Connector = Callable[[], Awaitable[RuntimeAPI]]
UNLOCK_SECONDS = 120.0  # a kiosk PIN unlocks actions for this long
WIDE = 140  # columns from which panels sit side by side
# Below this a low-bandwidth dashboard says so in one line instead of drawing garbage.
MIN_SIZE = (60, 16)
PENDING_NOTES = 200  # notes a low-bandwidth dashboard holds between two redraws


class PanelGrid(Container):
    """Holds the panels; one column on a narrow terminal, two from WIDE columns."""

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= WIDE, "-wide")


def _panel_id(cls: type[Panel]) -> str:
    return cls.__name__.removesuffix("Panel").lower()


class EdgeApp(App[None]):
    """The dashboard. `connect` gives the first API; `reconnect` (attach-only) is used after
    the daemon goes away, retried every `retry_s` seconds."""

    TITLE = "edgetui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("p", "unlock", "PIN"),
    ]

    def __init__(
        self,
        connect: Connector,
        reconnect: Connector | None = None,
        *,
        readonly: bool = False,
        kiosk: bool = False,
        clock: Callable[[], str] | None = None,
        retry_s: float = 1.0,
        low_bandwidth: str | None = None,
        refresh_s: float = 5.0,
        ascii: bool = False,
    ) -> None:
        if kiosk:
            self.ENABLE_COMMAND_PALETTE = False  # the palette could reach quit
        super().__init__()
        self._connect = connect
        self._reconnect = reconnect
        self.readonly = readonly
        self.kiosk = kiosk
        # Low-bandwidth (`low_bandwidth` says why it is on): redraw every `refresh_s` with
        # what came meanwhile, no animation. Only what changed is repainted in any mode.
        self.low_bandwidth = low_bandwidth
        self.refresh_s = refresh_s
        self.ascii = ascii
        self._pending: dict[str, Any] | None = None  # the newest snapshot not yet shown
        self._pending_notes: list[Notification] = []
        if low_bandwidth:
            self.animation_level = "none"
        self._clock = clock or (lambda: time.strftime("%H:%M:%S"))
        self.retry_s = retry_s
        self.api: RuntimeAPI | None = None
        self.snapshot: Snapshot | None = None
        self.connection = "connecting"
        # kind -> mounted panels that take it; rebuilt when a panel mounts (not per event)
        self._note_panels: dict[str, list[Panel]] = {}
        self._unlocked_until = 0.0
        self._pin_warned = False
        # The caller's role and the methods it may call (access.whoami); None: not told,
        # so nothing is hidden beyond --readonly (a runtime without access control).
        self.role: str | None = None
        self.allowed: set[str] | None = None
        self._actions: dict[str, tuple[type[Panel], PanelAction]] = {}
        for cls in PANELS:
            for act in cls.ACTIONS:
                self._actions[f"{_panel_id(cls)}.{act.name}"] = (cls, act)
                self.bind(
                    act.key, f"panel('{_panel_id(cls)}', '{act.name}')", description=act.description
                )

    # -- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusHeader(
            kiosk=self.kiosk, readonly=self.readonly, low_bandwidth=self.low_bandwidth
        )
        yield Static("", id="too-small")
        yield Banner(id="banner")
        with VerticalScroll(id="main"):
            if self.kiosk:
                yield KioskBoard(id="kiosk-board")
            yield Vertical(id="top")  # full-width panels, above the grid
            yield PanelGrid(id="panels")
        yield Footer()

    def on_mount(self) -> None:
        if self.kiosk:
            self.screen.add_class("-kiosk")
        glyphs.set_ascii(self.ascii)
        self.screen.set_class(self.ascii, "-ascii")
        self._tick_clock()
        if self.low_bandwidth:
            # One timer: the clock and everything that came since the last redraw.
            self.set_interval(self.refresh_s, self._redraw_slow_line)
        else:
            self.set_interval(1.0, self._tick_clock)
        self._feed()

    def _redraw_slow_line(self) -> None:
        self._tick_clock()
        self.flush_pending()

    def flush_pending(self) -> None:
        """Low-bandwidth: show the newest snapshot and the notes held since the last redraw."""
        notes, self._pending_notes = self._pending_notes, []
        if self._pending is not None:
            data, self._pending = self._pending, None
            self.apply_snapshot(Snapshot.from_dict(data))
        for note in notes:
            self._deliver(note)

    def on_resize(self, event: events.Resize) -> None:
        if not self.low_bandwidth:
            return
        w, h = event.size.width, event.size.height
        small = w < MIN_SIZE[0] or h < MIN_SIZE[1]
        self.screen.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"edgetui needs at least {MIN_SIZE[0]}x{MIN_SIZE[1]}; this terminal is {w}x{h}"
            )

    def _tick_clock(self) -> None:
        # The timer may fire once more while the app shuts down, the header already gone.
        for header in self.query(StatusHeader):
            header.set_clock(self._clock())

    # -- data feed --------------------------------------------------------------------
    def _kinds(self) -> list[str]:
        kinds = {"snapshot"}
        for cls in PANELS:
            kinds.update(cls.KINDS)
        return sorted(kinds)

    @work(exclusive=True, group="feed")
    async def _feed(self) -> None:
        connector = self._connect
        while True:
            try:
                self.api = await connector()
            except Exception as exc:
                self._set_connection("disconnected", f"disconnected: {exc} — retrying")
                await asyncio.sleep(self.retry_s)
                continue
            self._set_connection(self.api.mode, None)
            await self._learn_role(self.api)
            try:
                async for note in self.api.subscribe(self._kinds()):
                    self._route(note)
            except Disconnected:
                pass
            with contextlib.suppress(Exception):
                await self.api.close()
            self.api = None
            if self._reconnect is None:
                self._set_connection("disconnected", "disconnected from the runtime")
                return
            connector = self._reconnect
            self._set_connection(
                "disconnected", "disconnected from the daemon — reconnecting when it returns"
            )
            await asyncio.sleep(self.retry_s)

    async def _learn_role(self, api: RuntimeAPI) -> None:
        """Ask the runtime who we are: the header shows the role, and actions the role may
        not call are hidden (as --readonly hides them all)."""
        try:
            me = await api.call("access.whoami", {"via": "kiosk" if self.kiosk else "tui"})
        except APIError:
            self.role, self.allowed = None, None
        else:
            self.role = str(me.get("role") or "") or None
            self.allowed = set(me.get("allowed") or [])
        # The default screen's header: a modal may be on top by the time the answer comes.
        with contextlib.suppress(NoMatches):
            header = self.screen_stack[0].query_one(StatusHeader)
            header.role = self.role
            header.refresh_line()
        self.refresh_bindings()

    def _role_allows(self, act: PanelAction) -> bool:
        return act.method is None or self.allowed is None or act.method in self.allowed

    def _set_connection(self, state: str, banner: str | None) -> None:
        self.connection = state
        self.query_one(Banner).say(banner)
        header = self.query_one(StatusHeader)
        if state == "disconnected":
            header.mode = "disconnected"
            header.refresh_line()

    def _route(self, note: Notification) -> None:
        # Low-bandwidth: held until the next redraw (only the newest snapshot counts), but
        # the first is shown at once so the dashboard never starts empty.
        held = note.kind != "subscribed" and (note.kind != "snapshot" or self.snapshot)
        if self.low_bandwidth and held:
            if note.kind == "snapshot":
                self._pending = note.data
            else:
                self._pending_notes = [*self._pending_notes, note][-PENDING_NOTES:]
            return
        if note.kind == "snapshot":
            self.apply_snapshot(Snapshot.from_dict(note.data))
            return
        self._deliver(note)

    def _deliver(self, note: Notification) -> None:
        panels = self._note_panels.get(note.kind)
        if panels is None:
            panels = [p for p in self.query(Panel) if note.kind in p.KINDS]
            self._note_panels[note.kind] = panels
        for panel in panels:
            panel.on_note(note)

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Show a snapshot: mount panels whose section appeared, then update every panel."""
        self.snapshot = snap
        self.query_one(StatusHeader).set_snapshot(snap)
        if self.kiosk:
            self.query_one(KioskBoard).show(snap)
        self._warn_kiosk_pin(snap)
        mounted = {type(p): p for p in self.query_one("#main").query(Panel)}
        for cls in PANELS:
            if cls in mounted:
                continue
            if cls.SECTION is None or cls.SECTION in snap.sections:
                panel = cls(id=f"panel-{_panel_id(cls)}")
                self.query_one("#top" if cls.FULL_WIDTH else "#panels").mount(panel)
                self._note_panels.clear()
                mounted[cls] = panel
                if cls.ACTIONS:
                    self.call_after_refresh(self.refresh_bindings)
        for panel in mounted.values():
            if panel.SECTION is not None:
                # Most sections are unchanged from one second to the next: skip the repaint.
                section = panel.watched(snap)
                if section == panel.last_section and panel.last_section is not None:
                    continue
                panel.last_section = section
            panel.show(snap)

    async def on_unmount(self) -> None:
        if self.api is not None:
            with contextlib.suppress(Exception):
                await self.api.close()

    # -- actions ----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("quit", "command_palette") and self.kiosk:
            return False
        if action == "unlock" and not self.kiosk:
            return False
        if action == "panel" and len(parameters) == 2:
            cls, act = self._actions.get(f"{parameters[0]}.{parameters[1]}", (None, None))
            if act is None or (act.mutating and self.readonly) or not self._role_allows(act):
                return False
            if not any(p.actions_ready() for p in self.query(cls)):
                return False  # the part is not running: its keys are not offered
        return True

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_table(), self.mode_notes()))

    def key_table(self) -> list[tuple[str, str]]:
        """(key, description) for every binding active in this mode."""
        rows: list[tuple[str, str]] = []
        for bindings in self._bindings.key_to_bindings.values():
            for b in bindings:
                action, params = self._parse_binding_action(b.action)
                if not b.description or self.check_action(action, params) is False:
                    continue
                rows.append((b.key_display or self.get_key_display(b), b.description))
        return rows

    @staticmethod
    def _parse_binding_action(action: str) -> tuple[str, tuple[Any, ...]]:
        from textual.actions import parse

        _, name, params = parse(action)
        return name, params

    def mode_notes(self) -> list[str]:
        notes = [f"Connection: {self.connection}."]
        if self.readonly:
            notes.append("Read-only: actions are hidden.")
        if self.role:
            notes.append(f"Role: {self.role} (actions this role may not use are hidden).")
        if self.kiosk:
            notes.append("Kiosk: no quit key; actions ask for the PIN (p unlocks for 2 min).")
        return notes

    async def action_unlock(self) -> None:
        self.push_screen(PinScreen(self._check_pin, "unlock actions"), self._after_pin)

    async def _check_pin(self, pin: str) -> dict[str, Any]:
        """The runtime checks the PIN (hash, backoff, lockout): never this process."""
        if self.api is None:
            return {"ok": False, "reason": "unavailable", "message": "not connected"}
        return await self.api.call("kiosk.unlock", {"pin": pin})

    def _after_pin(self, ok: bool | None) -> None:
        if ok:
            self._unlocked_until = time.monotonic() + UNLOCK_SECONDS
            self.notify("Actions unlocked for 2 minutes")

    def _warn_kiosk_pin(self, snap: Snapshot) -> None:
        """Once per session in kiosk mode: say how to replace a plain-text PIN."""
        kiosk = snap.sections.get("kiosk")
        warning = kiosk.warning if isinstance(kiosk, KioskSection) else None
        if self.kiosk and warning and not self._pin_warned:
            self._pin_warned = True
            self.notify(warning, title="Kiosk PIN", severity="warning", timeout=15)

    def _locked(self) -> bool:
        return self.kiosk and time.monotonic() >= self._unlocked_until

    @work(group="actions")
    async def action_panel(self, panel_id: str, name: str) -> None:
        cls, act = self._actions[f"{panel_id}.{name}"]
        if (act.mutating and self.readonly) or not self._role_allows(act):
            return
        panels = list(self.query(cls))
        if not panels:
            self.notify(f"{act.description}: not available yet", severity="warning")
            return
        if act.mutating and self._locked():
            ok = await self.push_screen_wait(PinScreen(self._check_pin, act.description.lower()))
            if not ok:
                return
            self._unlocked_until = time.monotonic() + UNLOCK_SECONDS
        if act.confirm and not await self.push_screen_wait(ConfirmScreen(act.confirm)):
            return
        try:
            await panels[0].perform(name)
        except APIError as exc:
            self.notify(f"{act.description} failed: {exc}", severity="error", timeout=8)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "List every key", self.action_help)
        for key, (_cls, act) in self._actions.items():
            panel_id, name = key.split(".", 1)
            if (act.mutating and self.readonly) or not self._role_allows(act):
                continue
            yield SystemCommand(
                act.description,
                f"key {act.key}",
                lambda p=panel_id, n=name: self.action_panel(p, n),
            )
