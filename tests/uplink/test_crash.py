"""SIGKILL of a draining daemon at random points, five times, then a restart: every seq
arrives at least once, and a restart resends at most the in-flight window."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from edgetui.config import StoreConfig
from edgetui.sealing import DataKeyring, OutboxCipher
from edgetui.store.outbox import Outbox
from tests.support.cli import daemon_log, run_json, spawn_daemon, start_daemon
from tests.support.mqtt_sub import Collector

TOTAL = 4000
WINDOW = 20


async def wait_drained(state: Path, cfg: Path, timeout: float = 30.0) -> None:
    """Until the running daemon's outbox is empty (its buffer stats, through the CLI)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        stats = await asyncio.to_thread(
            run_json, "--config", str(cfg), "--state-dir", str(state), "buffer", "stats", "--json"
        )
        if stats.get("queued") == 0:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still queued: {stats}"
        await asyncio.sleep(0.2)


async def offline_said(sub: Collector, before: int) -> None:
    """Until the collector has more than `before` `offline` statuses: the broker sends a
    killed daemon's last will (or a stopped one's own `offline`) after everything that
    daemon published, in order, so its messages in transit have landed by then."""
    await sub.wait_for(lambda: sub.statuses().count(b"offline") > before, 60)


def write_config(path: Path, port: int) -> Path:
    path.write_text(
        f"""
[device]
id = "crash-dev"
[telemetry]
publish_interval_s = 3600.0
[uplink]
url = "mqtt://127.0.0.1:{port}"
inflight = {WINDOW}
backoff_min_s = 0.1
backoff_max_s = 0.5
[agents]
enabled = []
# The built-in alert rules judge this (busy) machine, and their transitions are queued
# too: the drain's own invariants are what these tests check.
[alerts]
enabled = false
"""
    )
    return path


async def queued_state(tmp_path: Path, total: int) -> Path:
    """A state dir whose outbox holds `total` telemetry messages (seq 1..total)."""
    state = tmp_path / "state"
    state.mkdir()
    ob = Outbox(StoreConfig(), state / "edgetui.db")
    await ob.start()
    for k in range(0, total, 500):
        await ob.enqueue_many([("telemetry", {"n": k + j}) for j in range(min(500, total - k))])
    await ob.stop()
    return state


async def test_sigkill_mid_drain_repeatedly_then_restart(tmp_path: Path, mosquitto) -> None:
    state = await queued_state(tmp_path, TOTAL)
    cfg = write_config(tmp_path / "config.toml", mosquitto.port)
    sub = Collector(mosquitto.host, mosquitto.port, "devices/crash-dev/#")
    rng = random.Random(11)
    seen: set[int] = set()
    consumed = 0
    try:
        everything = set(range(1, TOTAL + 1))
        for _ in range(5):
            wills = sub.statuses().count(b"offline")
            daemon = spawn_daemon(state, config=cfg)
            target = len(sub.messages) + rng.randint(50, 500)
            while len(sub.messages) < target and daemon.poll() is None:
                if everything <= set(sub.seqs()):
                    break  # drained before the chosen point: kill it anyway
                await asyncio.sleep(0.005)
            daemon.kill()  # SIGKILL, wherever the drain is
            daemon.wait(timeout=30)
            # Its last will comes after whatever it got to the broker: then count.
            await offline_said(sub, wills)
            new = sub.seqs()[consumed:]
            consumed += len(new)
            dups = [s for s in new if s in seen]
            assert len(dups) <= WINDOW, f"{len(dups)} duplicates after a restart"
            seen.update(new)
            assert sub.statuses()[-1] == b"offline"  # the last will
        wills = sub.statuses().count(b"offline")
        daemon = start_daemon(state, config=cfg)
        try:
            deadline = asyncio.get_running_loop().time() + 90
            while not set(range(1, TOTAL + 1)) <= set(sub.seqs()):
                assert asyncio.get_running_loop().time() < deadline, "not every seq arrived"
                await asyncio.sleep(0.05)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
        await offline_said(sub, wills)  # said on a clean stop too
        new = sub.seqs()[consumed:]
        assert len([s for s in new if s in seen]) <= WINDOW
        assert sub.statuses()[-1] == b"offline"
    finally:
        sub.close()


# Mender-style: the daemon killed at each step of the drain (the N-th time it is reached),
# then restarted: every seq arrives, and at most one window of them twice.
STEPS = [
    "uplink.after_publish@300",  # published, no PUBACK yet
    "uplink.before_ack_write@20",  # PUBACKs in hand, not journaled
    "uplink.after_ack_write@20",  # journaled, slots not yet refilled
    "uplink.before_compact@1",  # 512 journaled rows about to be deleted in bulk
    "store.after_ack_delete@1",  # deleted in bulk, the journal not yet emptied
]


@pytest.mark.parametrize("step", STEPS)
async def test_killed_in_each_drain_step_then_restarted(
    tmp_path: Path, mosquitto, step: str
) -> None:
    total = 2000
    state = await queued_state(tmp_path, total)
    cfg = write_config(tmp_path / "config.toml", mosquitto.port)
    sub = Collector(mosquitto.host, mosquitto.port, "devices/crash-dev/#")
    try:
        daemon = spawn_daemon(state, config=cfg, env_extra={"EDGETUI_FAULT": step})
        assert daemon.wait(timeout=60) == -9, f"not killed at {step}: {daemon_log(state)[-800:]}"
        await offline_said(sub, 0)  # its last will: what it got to the broker has landed
        before = set(sub.seqs())
        assert before, "nothing was delivered before the kill"
        assert len(before) < total, "the drain finished before the fault point"
        daemon = start_daemon(state, config=cfg)
        try:
            await sub.wait_for(lambda: set(range(1, total + 1)) <= set(sub.seqs()), 60)
            # What the restarted daemon queued itself (its start-up warnings, audit records)
            # drains too before it is stopped: the invariant below is "nothing left behind".
            await wait_drained(state, cfg)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
        seqs = sub.seqs()
        assert len(seqs) - len(set(seqs)) <= WINDOW, f"{len(seqs) - len(set(seqs))} duplicates"
        if step.startswith("uplink.before_compact"):
            assert "acknowledged before the last stop" in daemon_log(state)
        # The daemon sealed what it queued itself ([store] encrypt = true): its key opens it.
        key = DataKeyring.load(state / "keys" / "outbox.key")
        ob = Outbox(StoreConfig(), state / "edgetui.db", cipher=OutboxCipher(key))
        await ob.start()
        # The daemon's own warnings are queued too (a kill after its socket was up leaves
        # "removing stale control socket" for the restart): seqs past `total` are those.
        last, queued = ob.stats.last_seq, ob.queued()
        await ob.stop()
        assert queued == 0 and last >= total
        await sub.wait_for(lambda: set(range(1, last + 1)) <= set(sub.seqs()), 60)
        assert all(r["_topic"].endswith("/logs") for r in sub.rows() if r["seq"] > total)
    finally:
        sub.close()
