"""Buffer & uplink panel: connection state and broker, queue figures, fill, oldest
message age, send rate, loss counters and the last error in words; keys to retry the
connection now and to flush."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.models import Snapshot
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
        if isinstance(section, dict):
            self.update(self.render_text(section, max(self.size.width - 2, 40)), layout=False)

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

    @staticmethod
    def render_text(b: dict[str, Any], width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")

        def label(name: str) -> None:
            out.append(f"{name:<{LABEL}}", style="bold")

        state = str(b.get("state", "?"))
        label("Link")
        out.append("● ", style=STATE_STYLE.get(state, ""))
        out.append(str(b.get("state_text") or state), style=STATE_STYLE.get(state, ""))
        if b.get("connected_since"):
            out.append(f"  since {hhmmss(b['connected_since'])}", style="dim")
        if b.get("retry_in_s") is not None:
            out.append(f"  next try in {b['retry_in_s']:.0f} s", style="yellow")
        out.append("\n")

        fill = b.get("fill_percent")
        gauge_w = max(10, min(24, width // 4))
        label("Queue")
        out.append_text(bar(fill, gauge_w, warn=70.0, crit=90.0))
        out.append(f" {fill if fill is not None else '-':>5}%  ")
        out.append(f"{_n(b.get('queued'))} msgs  {human_bytes(b.get('queued_bytes') or 0)}")
        age = b.get("oldest_age_s")
        out.append("  oldest ", style="dim")
        out.append(human_duration(age) if age is not None else "-")
        out.append("\n")

        label("Send")
        out.append(f"{b.get('send_rate', 0):.1f} msg/s  ")
        out.append(f"in flight {b.get('inflight', 0)}/{b.get('window', '-')}  ")
        out.append(f"sent {_n(b.get('sent'))}  ", style="")
        out.append(f"seq {_n(b.get('seq'))}", style="dim")
        out.append("\n")

        label("Lost")
        for name in ("dropped", "rejected", "expired"):
            value = b.get(name) or 0
            out.append(f"{name} ", style="dim")
            out.append(f"{_n(value)}  ", style="bold red" if value else "")
        out.append("rolled up ", style="dim")
        out.append(f"{_n(b.get('rolled_up') or 0)}\n")

        label("Class")
        for name, value in (b.get("by_class") or {}).items():
            out.append(f"{name} ", style="dim")
            out.append(f"{_n(value)}  ")
        out.append("\n")

        label("Error")
        err = b.get("last_error") or b.get("last_store_error")
        if err:
            out.append(str(err), style="red")
            if b.get("last_error_at"):
                out.append(f"  ({hhmmss(b['last_error_at'])})", style="dim")
        else:
            out.append("none", style="dim")
        return out
