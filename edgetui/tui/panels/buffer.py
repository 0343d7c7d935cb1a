"""Buffer & uplink panel: connection state and broker, queue figures, fill, oldest
message age, send rate, loss counters and the last error in words; keys to retry the
connection now and to flush."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.models import Snapshot
from edgetui.models.buffer_section import BufferSection
from edgetui.tui.glyphs import bar
from edgetui.tui.panels.base import Panel, PanelAction, hhmmss
from edgetui.units import human_bytes, human_duration

STATE_STYLE = {
    "connected": "bold green",
    "connecting": "bold yellow",
    "backoff": "bold red",
    "error": "bold red",
    "no_broker": "bold yellow",
    "stopped": "dim",
}
LABEL = 7


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"


class BufferPanel(Panel):
    """Everything comes from the snapshot's `buffer` section; nothing is measured here."""

    SECTION = "buffer"
    TITLE = "Buffer & uplink"
    ACTIONS = (
        PanelAction("r", "retry", "Uplink retry now", method="buffer.retry"),
        PanelAction("f", "flush", "Buffer flush", method="buffer.flush"),
    )
    DEFAULT_CSS = "BufferPanel { min-height: 8; }"

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        section = self.section(snap)
        if isinstance(section, BufferSection):
            self.update(render_text(section, max(self.size.width - 2, 40)), layout=False)

    async def do_retry(self) -> None:
        if self.api is None:
            return
        result = await self.api.call("buffer.retry")
        self.app.notify(f"Uplink: retrying now ({result.get('broker') or 'no broker'})")

    async def do_flush(self) -> None:
        if self.api is None:
            return
        self.app.notify("Buffer: flushing (up to 10 s)…")
        r = await self.api.call("buffer.flush", {"timeout": 10})
        if r.get("ok"):
            self.app.notify(f"Buffer flushed: {r.get('sent')} sent")
        else:
            why = r.get("last_error") or r.get("state")
            self.app.notify(
                f"Buffer not flushed: {r.get('remaining')} left ({why})",
                severity="warning",
                timeout=8,
            )


def _link(out: Text, b: BufferSection) -> None:
    style = STATE_STYLE.get(b.state, "")
    out.append("● ", style=style)
    out.append(b.state_text or b.state, style=style)
    if b.connected_since:
        out.append(f"  since {hhmmss(b.connected_since)}", style="dim")
    if b.retry_in_s is not None:
        out.append(f"  next try in {b.retry_in_s:.0f} s", style="yellow")


def _queue(out: Text, b: BufferSection, width: int) -> None:
    gauge_w = max(10, min(24, width // 4))
    out.append_text(bar(b.fill_percent, gauge_w, warn=70.0, crit=90.0))
    out.append(f" {b.fill_percent:>5}%  ")
    out.append(f"{_n(b.queued)} msgs  {human_bytes(b.queued_bytes)}")
    out.append("  oldest ", style="dim")
    out.append(human_duration(b.oldest_age_s) if b.oldest_age_s is not None else "-")


def _send(out: Text, b: BufferSection) -> None:
    out.append(f"{b.send_rate:.1f} msg/s  ")
    out.append(f"in flight {b.inflight}/{b.window}  ")
    out.append(f"sent {_n(b.sent)}  ")
    out.append(f"seq {_n(b.seq)}", style="dim")


def _lost(out: Text, b: BufferSection) -> None:
    for name, value in (("dropped", b.dropped), ("rejected", b.rejected), ("expired", b.expired)):
        out.append(f"{name} ", style="dim")
        out.append(f"{_n(value)}  ", style="bold red" if value else "")
    out.append("rolled up ", style="dim")
    out.append(_n(b.rolled_up))


def _classes(out: Text, b: BufferSection) -> None:
    for name, value in b.by_class.items():
        out.append(f"{name} ", style="dim")
        out.append(f"{_n(value)}  ")


def _error(out: Text, b: BufferSection) -> None:
    err = b.last_error or b.last_store_error
    if not err:
        out.append("none", style="dim")
        return
    out.append(err, style="red")
    if b.last_error_at:
        out.append(f"  ({hhmmss(b.last_error_at)})", style="dim")


def render_text(b: BufferSection, width: int) -> Text:
    """The panel's six rows: link, queue, send, lost, classes, error."""
    out = Text(no_wrap=True, overflow="ellipsis")
    rows = (
        ("Link", lambda: _link(out, b)),
        ("Queue", lambda: _queue(out, b, width)),
        ("Send", lambda: _send(out, b)),
        ("Lost", lambda: _lost(out, b)),
        ("Class", lambda: _classes(out, b)),
        ("Error", lambda: _error(out, b)),
    )
    for i, (name, draw) in enumerate(rows):
        out.append(f"{name:<{LABEL}}", style="bold")
        draw()
        if i < len(rows) - 1:
            out.append("\n")
    return out
