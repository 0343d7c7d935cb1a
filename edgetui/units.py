"""Sizes and durations in a technician's words, the same in both faces (CLI and dashboard)."""

from __future__ import annotations


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
