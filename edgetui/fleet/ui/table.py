"""The device table: a virtual table over any number of devices. Only the visible rows are
rendered (Textual's Line API: `render_line` per screen line), so 10,000 rows cost what 40
do; new data replaces the row list once per refresh tick, never per message."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from edgetui.fleet.columns import COLUMNS, row_text
from edgetui.fleet.records import DeviceState

ROW_WIDTH = sum(c.width for c in COLUMNS) + len(COLUMNS) - 1
OFFLINE = Style(dim=True)
CRITICAL = Style(color="red", bold=True)
WARNING = Style(color="yellow")
CURSOR = Style(reverse=True)


class DeviceTable(ScrollView, can_focus=True):
    """Rows of devices with a cursor; posts `Opened` on enter."""

    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "move(-1000000000)", "first", show=False),
        Binding("end", "move(1000000000)", "last", show=False),
        Binding("enter", "open", "device"),
        Binding("slash", "app.filter", "filter"),
        Binding("s", "app.sort", "sort"),
        Binding("r", "app.reverse", "reverse"),
    ]

    class Opened(Message):
        """The user opened a device (enter on its row)."""

        def __init__(self, device_id: str) -> None:
            super().__init__()
            self.device_id = device_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[DeviceState] = []
        self.now = 0.0
        self.cursor = 0
        self.rendered_lines = 0  # render_line calls since the last set_rows (for tests)

    def set_rows(self, rows: list[DeviceState], now: float) -> None:
        """Show `rows` (already filtered and sorted); the cursor stays on its device."""
        current = self.current()
        self.rows, self.now = rows, now
        if current is not None and (
            self.cursor >= len(rows) or rows[self.cursor].device_id != current
        ):
            for i, d in enumerate(rows):
                if d.device_id == current:
                    self.cursor = i
                    break
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        self.virtual_size = Size(ROW_WIDTH, len(rows))
        self.rendered_lines = 0
        self.refresh()

    def current(self) -> str | None:
        return self.rows[self.cursor].device_id if 0 <= self.cursor < len(self.rows) else None

    def render_line(self, y: int) -> Strip:
        self.rendered_lines += 1
        scroll_x, scroll_y = self.scroll_offset
        idx = scroll_y + y
        width = self.scrollable_content_region.width
        if idx >= len(self.rows):
            return Strip.blank(width)
        d = self.rows[idx]
        style = Style()
        if d.status == "offline":
            style = OFFLINE
        elif d.alerts_critical:
            style = CRITICAL
        elif d.alerts_warning:
            style = WARNING
        if idx == self.cursor and self.has_focus:
            style = style + CURSOR
        strip = Strip([Segment(row_text(d, self.now), style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _follow(self) -> None:
        self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False, immediate=True)
        self.refresh()

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
            self._follow()

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_open(self) -> None:
        current = self.current()
        if current is not None:
            self.post_message(self.Opened(current))
