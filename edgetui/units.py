"""Sizes and durations in a technician's words, the same in both faces (CLI and dashboard):
written (`human_bytes`, `human_duration`) and read (`parse_duration`, `parse_since`, the one
grammar every option, form and config value that takes a duration goes through)."""

from __future__ import annotations

import math
import re
import time

from edgetui.models.clock import parse_rfc3339

_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
# "ms" before "m": the alternation takes the first that fits.
_TERM = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
DURATION_EXAMPLES = "e.g. 500ms, 30s, 15m, 1h30m, 2d, 2w"


def human_bytes(n: float | None) -> str:
    """1536 -> "1.5 KiB"; None (not measured) -> "n/a"."""
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_duration(seconds: float | None) -> str:
    """93784 -> "1d 2h"; the two largest units only; None -> "n/a"."""
    if seconds is None:
        return "n/a"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {s}s"
    return f"{s}s"


def parse_duration(text: str, *, bare_seconds: bool = False) -> float:
    """Seconds (above 0) from `500ms`, `30s`, `15m`, `2h`, `1d`, `2w` or a sum of them
    (`1h30m`); case and spaces do not matter. A bare number (`90`) is seconds only when
    `bare_seconds` (options that always took one); ValueError with a one-line reason."""
    t = "".join(str(text).split()).lower()
    if bare_seconds and _NUMBER.fullmatch(t):
        seconds = float(t)
    else:
        pos, seconds = 0, 0.0
        for m in _TERM.finditer(t):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNIT_S[m.group(2)]
            pos = m.end()
        if not t or pos != len(t):
            raise ValueError(f"not a duration: {str(text)[:40]!r} ({DURATION_EXAMPLES})")
    if not math.isfinite(seconds):
        raise ValueError(f"not a duration: {str(text)[:40]!r} is too long")
    if seconds <= 0:
        raise ValueError(f"not a duration above 0: {str(text)[:40]!r}")
    return seconds


def parse_since(text: str, now: float | None = None, *, option: str = "--since") -> float:
    """Epoch seconds from an `--since` value: an age (`30m`, `12h`, `7d`, as
    `parse_duration`: that long before `now`) or an RFC 3339 time or date (UTC when it has
    no zone). ValueError with a one-line reason naming `option` otherwise."""
    now = time.time() if now is None else now
    t = str(text).strip()
    # An age starts with a digit and ends with a unit; a date or time never ends in one.
    if t[:1].isdigit() and t[-1:].lower() in "smhdw" and "-" not in t and ":" not in t:
        try:
            return now - parse_duration(t)
        except ValueError as exc:
            raise ValueError(f"{option}: {exc}") from None
    try:
        return parse_rfc3339(t, assume_utc=True).timestamp()
    except ValueError:
        raise ValueError(
            f"{option}: expected a time like 2026-05-06T14:30:00Z or an age like 2h, "
            f"got {str(text)[:40]!r}"
        ) from None
