"""Timestamps as every part writes them: RFC 3339, UTC, with a Z."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def rfc3339(ts: float | None = None, *, timespec: str = "milliseconds") -> str:
    """Now (or Unix time `ts`) like 2026-05-06T14:30:00.123Z; timespec="seconds" drops
    the fraction."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, UTC)
    return dt.isoformat(timespec=timespec).replace("+00:00", "Z")
