"""Text gauges and sparklines: one Rich Text per panel is far cheaper than many widgets."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

SPARK = "▁▂▃▄▅▆▇█"
SPARK_ASCII = "_.-:=+*#"
# `[tui] ascii = true`: gauges and sparklines in ASCII, for a terminal (or a serial console's
# font) without the block characters. One switch for the process: a dashboard is one app.
_ascii = False


def set_ascii(on: bool) -> None:
    """Draw gauges and sparklines in ASCII from now on (or in block characters again)."""
    global _ascii
    _ascii = on


def level_style(percent: float | None, warn: float = 75.0, crit: float = 90.0) -> str:
    if percent is None:
        return "dim"
    if percent >= crit:
        return "bold red"
    if percent >= warn:
        return "yellow"
    return "green"


def bar(percent: float | None, width: int, *, warn: float = 75.0, crit: float = 90.0) -> Text:
    """A horizontal gauge `width` cells wide, coloured by level."""
    width = max(width, 1)
    if percent is None:
        return Text("·" * width, style="dim")
    p = min(max(percent, 0.0), 100.0)
    if _ascii:
        full = round(p / 100 * width)
        text = Text("#" * full, style=level_style(p, warn, crit))
        text.append("." * (width - full), style="dim")
        return text
    eighths = round(p / 100 * width * 8)
    full, part = divmod(eighths, 8)
    body = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
    text = Text(body, style=level_style(p, warn, crit))
    text.append(" " * (width - len(body)), style="on grey23")
    return text


def sparkline(
    values: Sequence[float],
    width: int,
    *,
    lo: float | None = None,
    hi: float | None = None,
    style: str = "cyan",
) -> Text:
    """The last `width` values as block characters; scale is lo..hi or the data's range."""
    vals = list(values)[-width:] if width > 0 else []
    if not vals:
        return Text(" " * max(width, 0))
    lo = min(vals) if lo is None else lo
    hi = max(vals) if hi is None else hi
    span = hi - lo
    marks = SPARK_ASCII if _ascii else SPARK
    chars = []
    for v in vals:
        idx = 0 if span <= 0 else int((min(max(v, lo), hi) - lo) / span * (len(marks) - 1))
        chars.append(marks[idx])
    return Text(" " * (width - len(chars)) + "".join(chars), style=style)
