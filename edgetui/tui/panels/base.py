"""Panel: a dashboard box fed by snapshots (and optionally other notifications)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual.widgets import Static

from edgetui.api import Notification
from edgetui.models import Snapshot

if TYPE_CHECKING:
    from edgetui.api import RuntimeAPI


def hhmmss(ts: str | None) -> str:
    """The clock time of an RFC 3339 timestamp as sent (`14:30:00`); `-` for none."""
    return ts[11:19] if ts and len(ts) >= 19 else "-"


@dataclass(frozen=True)
class PanelAction:
    """A key the dashboard binds globally and routes to `Panel.do_<name>()`."""

    key: str
    name: str
    description: str
    mutating: bool = True  # hidden in --readonly, behind the PIN in --kiosk
    confirm: str | None = None  # question asked before a destructive action
    method: str | None = None  # the runtime method it calls: hidden when the role may not


class Panel(Static):
    """Base for panels. Subclasses set SECTION (the snapshot section that makes the panel
    appear; None = always shown), KINDS (extra notification kinds), ACTIONS, and implement
    `show(snapshot)`."""

    SECTION: ClassVar[str | None] = None
    KINDS: ClassVar[tuple[str, ...]] = ()
    ACTIONS: ClassVar[tuple[PanelAction, ...]] = ()
    TITLE: ClassVar[str] = ""
    FULL_WIDTH: ClassVar[bool] = False  # True: above the grid, across the whole width
    last_section: Any = None  # the section last shown (the app skips unchanged ones)
    _last: Snapshot | None = None  # set by show(): redrawn at the new width on a resize

    DEFAULT_CSS = """
    Panel { border: round $primary 60%; padding: 0 1; height: auto; }
    """

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    @property
    def api(self) -> RuntimeAPI | None:
        return getattr(self.app, "api", None)

    def section(self, snap: Snapshot) -> Any:
        return snap.sections.get(self.SECTION) if self.SECTION else None

    def watched(self, snap: Snapshot) -> Any:
        """What must change for the panel to be repainted (its section, by default)."""
        return self.section(snap)

    def show(self, snap: Snapshot) -> None:
        """Render the snapshot; called once per snapshot while mounted."""
        raise NotImplementedError

    def show_rendered(self, snap: Snapshot, section: Any) -> None:
        """Keep `snap` (for a resize) and show `render_text(section, width)` in place: for
        panels whose height does not depend on what they show."""
        self._last = snap
        render = getattr(self, "render_text")  # noqa: B009 (each panel defines its own)
        self.update(render(section, max(self.size.width - 2, 40)), layout=False)

    def actions_ready(self) -> bool:
        """Whether the panel's keys are offered now (its part may come and go)."""
        return True

    def on_resize(self) -> None:
        if self._last is not None:
            self.show(self._last)

    def on_note(self, note: Notification) -> None:
        """Handle a non-snapshot notification of one of KINDS."""

    async def perform(self, name: str) -> None:
        await getattr(self, f"do_{name}")()
