"""Waiting for conditions (never sleeping and hoping), and running fleet pieces in tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from edgetui.fleet import Ingest, parse_broker
from edgetui.fleet.simulator import Simulator
from edgetui.fleet.store import FleetStore


def until(pred: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll `pred` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or pred}")
        time.sleep(0.05)


@contextmanager
def ingesting(store: FleetStore, url: str, **kw: Any) -> Iterator[Ingest]:
    kw.setdefault("batch_s", 0.1)
    ing = Ingest(store, parse_broker(url), **kw)
    ing.start()
    try:
        assert ing.wait_connected(60), ing.stats.last_error
        yield ing
    finally:
        ing.stop()


@contextmanager
def simulating(url: str, devices: int, **kw: Any) -> Iterator[Simulator]:
    kw.setdefault("telemetry_interval_s", 0.5)
    sim = Simulator(parse_broker(url), devices, **kw)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def online(store: FleetStore) -> int:
    return sum(1 for d in store.devices() if d.status == "online")
