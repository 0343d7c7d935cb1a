"""Shared bits for uplink tests: an outbox + uplink pair with test-sized timings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.config import StoreConfig, UplinkConfig
from edgetui.store.outbox import Outbox
from edgetui.uplink.service import Uplink


async def make_pair(
    tmp_path: Path, url: str, *, store: dict[str, Any] | None = None, **uplink: Any
) -> tuple[Outbox, Uplink]:
    ob = Outbox(StoreConfig(**(store or {})), tmp_path / "outbox.db", maintenance_s=3600)
    await ob.start()
    uplink.setdefault("backoff_min_s", 0.1)
    uplink.setdefault("backoff_max_s", 0.4)
    timeout = uplink.pop("connect_timeout", 3.0)
    keepalive = uplink.pop("keepalive", 30)
    up = Uplink(
        UplinkConfig(url=url, **uplink),
        ob,
        device_id="dev-1",
        connect_timeout=timeout,
        keepalive=keepalive,
    )
    return ob, up


async def close_pair(ob: Outbox, up: Uplink) -> None:
    await up.stop()
    await ob.stop()


async def wait_until(pred: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or pred}")
        await asyncio.sleep(0.02)
