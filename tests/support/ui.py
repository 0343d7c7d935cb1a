"""Build the dashboard on a fixed snapshot source, for Pilot and snapshot tests."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.api import RuntimeAPI
from edgetui.config import UIConfig
from edgetui.kiosk import KioskPin
from edgetui.tui.app import EdgeApp
from tests.support.fake_api import FakeAPI, fixed_snapshot


def make_app(
    sections: dict[str, Any] | None = None,
    *,
    mode: str = "standalone",
    api: FakeAPI | None = None,
    **kwargs: Any,
) -> tuple[EdgeApp, FakeAPI]:
    """An EdgeApp fed by a FakeAPI with a fixed snapshot (plus `sections`) and a fixed clock."""
    api = api or FakeAPI(fixed_snapshot(mode, sections), mode=mode)

    async def connect() -> RuntimeAPI:
        return api

    kwargs.setdefault("clock", lambda: "14:30:00")
    pin = kwargs.pop("kiosk_pin", "4321")
    if "kiosk.unlock" not in api.results:
        # The real PIN check (plain-text PIN, backoff, lockout) behind the fixed snapshot.
        api.kiosk_dir = tempfile.TemporaryDirectory(prefix="kiosk-")  # type: ignore[attr-defined]
        kiosk = KioskPin(UIConfig(kiosk_pin=pin), Path(api.kiosk_dir.name))  # type: ignore[attr-defined]
        api.kiosk = kiosk  # type: ignore[attr-defined]
        api.results["kiosk.unlock"] = kiosk.methods()["kiosk.unlock"]
    return EdgeApp(connect, **kwargs), api


def daemon_that_returns(
    first: FakeAPI, second: FakeAPI
) -> tuple[Callable[[], Awaitable[RuntimeAPI]], Callable[[], Awaitable[RuntimeAPI]], asyncio.Event]:
    """connect/reconnect for an EdgeApp whose daemon goes away (`first.drop()`) and answers
    again, as `second`, once the returned event is set."""
    back = asyncio.Event()

    async def connect() -> RuntimeAPI:
        return first

    async def reconnect() -> RuntimeAPI:
        if not back.is_set():
            raise ConnectionError("daemon not answering")
        return second

    return connect, reconnect, back


async def until(pilot: Any, cond: Callable[[], Any], timeout: float = 30.0) -> None:
    """Let the app run until `cond()` holds. A pause of a fixed length is not enough for a
    key press, a screen, a search or a worker's call on a loaded machine; `timeout` only
    bounds a hang."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await pilot.pause(0.02)
