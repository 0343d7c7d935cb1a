"""Rollout tests' pieces: an operator key, a release manifest, a runner on a thread, and a
collector counting the commands each device was sent."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.fleet import parse_broker
from edgetui.fleet.rollouts import RolloutRecord, RolloutRunner, RolloutSpec, create_rollout
from edgetui.fleet.store import FleetStore
from edgetui.keys import generate_keypair
from tests.fleet.helpers import until
from tests.support.mqtt_sub import Collector

VERSION = "2.0.0"


@dataclass
class Release:
    key: Path
    pub: Path
    manifest_url: str


def make_release(root: Path, **extra: Any) -> Release:
    """An operator key pair and a manifest for VERSION (what the simulator reads of it)."""
    key, pub = generate_keypair(root / "ops")
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({"version": VERSION, **extra}))
    return Release(key, pub, manifest.as_uri())


def spec(release: Release, **kw: Any) -> RolloutSpec:
    kw.setdefault("waves", [10.0, 50.0, 100.0])
    kw.setdefault("health_window_s", 0.5)
    kw.setdefault("timeout_s", 60.0)
    kw.setdefault("min_executed", 4)
    return RolloutSpec(
        manifest_url=release.manifest_url, version=VERSION, key=str(release.key), **kw
    )


def wait_fleet(store: FleetStore, n: int) -> None:
    """Until the store has `n` devices online with their telemetry (type, version)."""
    until(
        lambda: sum(1 for d in store.devices() if d.status == "online" and d.version) >= n,
        60,
        f"{n} devices online in the store",
    )


@contextmanager
def running(store: FleetStore, url: str, rollout_id: str, **kw: Any) -> Iterator[RolloutRunner]:
    """A runner on a thread; stopped (if still running) on exit."""
    kw.setdefault("tick_s", 0.1)
    runner = RolloutRunner(store, parse_broker(url), rollout_id, **kw)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        stop.set()
        thread.join(timeout=20)


def start(store: FleetStore, release: Release, rollout_id: str, **kw: Any) -> RolloutRecord:
    return create_rollout(store, spec(release, **kw), rollout_id=rollout_id)


def final(store: FleetStore, rollout_id: str, timeout: float = 40.0) -> RolloutRecord:
    """The rollout once it is no longer RUNNING/PAUSED."""
    return until(
        lambda: (r := store.rollout(rollout_id)) and r.state not in ("RUNNING", "PAUSED") and r,
        timeout,
        f"rollout {rollout_id} to end",
    )


class CommandCounter(Collector):
    """Every command published to `devices/+/commands`: per device, per command id."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port, topic="devices/+/commands")

    def docs(self) -> list[dict[str, Any]]:
        with self._lock:
            msgs = list(self.messages)
        return [{"_device": t.split("/")[1], **json.loads(p)} for t, p in msgs]

    def per_device(self, command: str) -> Counter[str]:
        return Counter(d["_device"] for d in self.docs() if d["command"] == command)

    def per_id(self) -> Counter[str]:
        return Counter(d["id"] for d in self.docs())
