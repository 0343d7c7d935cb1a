"""Timestamps as every part writes and reads them: RFC 3339, UTC, with a Z.

`rfc3339` and `format_rfc3339` write; `parse_rfc3339` is the one reader (a `Z` or any
offset; a time without a zone only where the caller says it means UTC)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# The longest RFC 3339 time is about 32 characters (microseconds and an offset): anything
# longer is not one, and is refused before the parser sees it.
MAX_CHARS = 40


def rfc3339(ts: float | None = None, *, timespec: str = "milliseconds") -> str:
    """Now (or Unix time `ts`) like 2026-05-06T14:30:00.123Z; timespec="seconds" drops
    the fraction."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return dt.isoformat(timespec=timespec).replace("+00:00", "Z")


def format_rfc3339(dt: datetime, *, timespec: str = "seconds") -> str:
    """An aware datetime in UTC with a Z, to the second (or `timespec`)."""
    return dt.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_rfc3339(value: object, *, assume_utc: bool = False) -> datetime:
    """An aware datetime from an RFC 3339 time (`Z` or an offset; a date alone is midnight).

    A time without a zone is UTC when `assume_utc`, else refused: a signed document's times
    must say their zone. ValueError with a one-line reason naming the (clipped) input."""
    if not isinstance(value, str):
        raise ValueError(f"not an RFC 3339 time: {type(value).__name__}")
    text = value
    if len(text) > MAX_CHARS:
        raise ValueError(f"not an RFC 3339 time: {text[:MAX_CHARS]!r}... (too long)")
    try:
        # Python 3.11 reads "Z" itself; the replace keeps a lower-case "z" readable too.
        dt = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {text!r} (e.g. 2026-05-06T14:30:00Z)") from None
    if dt.tzinfo is None:
        if not assume_utc:
            raise ValueError(f"a time without a zone: {text!r} (add Z or an offset)")
        dt = dt.replace(tzinfo=UTC)
    return dt


def parse_epoch(value: object) -> float | None:
    """Epoch seconds from an RFC 3339 string (no zone: UTC) or a number; None when it is
    neither (what a device sent is taken as far as it can be, never refused whole)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_rfc3339(value, assume_utc=True).timestamp()
    except ValueError:
        return None
