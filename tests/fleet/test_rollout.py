"""Phased rollouts end to end: a real mosquitto, the real fleet store (both engines for the
three-wave success), simulated devices that verify the signed commands, the ingest and the
runner in this process."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from edgetui.fleet.rollouts import rollout_status
from edgetui.fleet.store import FleetStore
from tests.fleet.helpers import ingesting, simulating, until
from tests.fleet.rollout_support import (
    VERSION,
    CommandCounter,
    final,
    make_release,
    running,
    start,
    wait_fleet,
)

pytestmark = pytest.mark.timeout(60)
SIM = {"install_s": 0.1, "health_s": 0.2, "telemetry_interval_s": 0.5}


def test_three_waves_succeed(store: FleetStore, mosquitto, tmp_path: Path) -> None:
    release = make_release(tmp_path)
    counter = CommandCounter(mosquitto.host, mosquitto.port)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 20, trusted_keys=(str(release.pub),), **SIM),
    ):
        wait_fleet(store, 20)
        start(store, release, "r1")
        with running(store, mosquitto.url, "r1"):
            r = final(store, "r1")
        assert r.state == "SUCCEEDED", r.halt_reason
        execs = store.executions("r1")
        assert [sum(1 for e in execs if e.wave == k) for k in range(3)] == [2, 8, 10]
        assert all(e.state == "SUCCEEDED" and e.attempt == 1 for e in execs)
        # Each wave started only once the one before met its threshold.
        assert len(r.wave_done) == 3 and r.wave_done == sorted(r.wave_done)
        for e in execs:
            if e.wave > 0:
                assert e.sent_at is not None and e.sent_at >= r.wave_done[e.wave - 1]
        until(lambda: all(d.version == VERSION for d in store.devices()), 60, "new version")
        assert all(d.slot == "b" and d.slot_status == "good" for d in store.devices())
        doc = rollout_status(r, execs)
        assert doc["counts"]["SUCCEEDED"] == 20 and doc["failure_rate"] == 0.0
        assert [w["devices"] for w in doc["waves"]] == [2, 8, 10]
    # The counter is one more subscriber: it may get the last commands after the devices.
    until(lambda: len(counter.per_device("ota.apply")) == 20, 60, "20 commands counted")
    assert max(counter.per_device("ota.apply").values()) == 1
    counter.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_halts_at_the_wave_that_crosses_the_rate_and_rolls_back(
    store: FleetStore, mosquitto, tmp_path: Path
) -> None:
    release = make_release(tmp_path)
    counter = CommandCounter(mosquitto.host, mosquitto.port)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 20, trusted_keys=(str(release.pub),), **SIM) as sim,
    ):
        # Wave 2 (devices 2-9 of 20) holds four devices whose health check fails: 4 of 10
        # executed is above 20%; waves 1 and 3 are healthy.
        for d in sim.devices[3:7]:
            d.will_fail = d.ota.will_fail = True
        wait_fleet(store, 20)
        start(store, release, "r2", max_failure_rate=0.2, auto_rollback=True)
        with running(store, mosquitto.url, "r2") as runner:
            r = final(store, "r2")
            assert runner.done.wait(30), "the runner did not finish its rollbacks"
        assert r.state == "HALTED"
        assert r.wave == 1 and "in wave 2" in (r.halt_reason or "")
        execs = {e.device_id: e for e in store.executions("r2")}
        failing = {d.device_id for d in sim.devices[3:7]}
        # Wave 3 never got a command.
        wave3 = [e for e in execs.values() if e.wave == 2]
        assert all(e.state == "CANCELED" and e.attempt == 0 for e in wave3)
        sent = counter.per_device("ota.apply")
        assert not any(e.device_id in sent for e in wave3)
        # Every device that took the release was rolled back; the failing ones rolled
        # themselves back (their health check) and are FAILED with the reason.
        took = [e for e in execs.values() if e.rollback_id]
        assert {e.device_id for e in took} == {
            e.device_id for e in execs.values() if e.wave < 2 and e.device_id not in failing
        }
        assert all(e.rollback_state == "SUCCEEDED" for e in took)
        assert all(execs[d].state == "FAILED" for d in failing if execs[d].attempt)
        # The counter is one more subscriber: it may get the last commands after the devices.
        until(
            lambda: set(counter.per_device("ota.rollback")) == {e.device_id for e in took},
            60,
            "every rollback counted",
        )
        assert max(counter.per_device("ota.rollback").values()) == 1
        until(
            lambda: all(
                (store.device(e.device_id) or e).version == "0.1.0"
                for e in took  # type: ignore[union-attr]
            ),
            60,
            "rolled-back devices back on 0.1.0",
        )
        doc = rollout_status(r, list(execs.values()))
        assert doc["failed_reasons"] and doc["halt_reason"] == r.halt_reason
    counter.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_offline_device_is_updated_when_it_comes_back(
    store: FleetStore, mosquitto, tmp_path: Path
) -> None:
    release = make_release(tmp_path)
    keys = (str(release.pub),)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 5, trusted_keys=keys, **SIM),
    ):
        with simulating(mosquitto.url, 1, prefix="late", trusted_keys=keys, **SIM):
            wait_fleet(store, 6)
        # Its clean stop publishes `offline`, as the last will would.
        until(lambda: store.device("late-00000").status == "offline", 60, "late offline")
        start(store, release, "r3", waves=[100.0], min_executed=10)
        with running(store, mosquitto.url, "r3"):

            def waiting() -> bool:
                doc = rollout_status(store.rollout("r3"), store.executions("r3"))
                return doc["offline_waiting"] == 1 and doc["counts"]["SUCCEEDED"] == 5

            until(waiting, 60, "the others updated, the late one waiting")
            assert store.rollout("r3").state == "RUNNING"
            late = next(e for e in store.executions("r3") if e.device_id == "late-00000")
            assert late.state == "PENDING" and late.attempt == 0
            with simulating(mosquitto.url, 1, prefix="late", trusted_keys=keys, **SIM):
                r = final(store, "r3")
        assert r.state == "SUCCEEDED"
        late = next(e for e in store.executions("r3") if e.device_id == "late-00000")
        assert late.state == "SUCCEEDED" and late.attempt == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_low_ram_devices_reject_with_their_reason(
    store: FleetStore, mosquitto, tmp_path: Path
) -> None:
    release = make_release(tmp_path, min_ram_mb=1024)
    with (
        ingesting(store, mosquitto.url),
        simulating(
            mosquitto.url, 12, trusted_keys=(str(release.pub),), low_ram_rate=0.3, **SIM
        ) as sim,
    ):
        low = {d.device_id for d in sim.devices if d.low_ram}
        assert 0 < len(low) < 12
        wait_fleet(store, 12)
        start(store, release, "r4", waves=[50.0, 100.0])
        with running(store, mosquitto.url, "r4"):
            r = final(store, "r4")
        execs = store.executions("r4")
        doc = rollout_status(r, execs)
    # Rejections are grouped, and neither executed nor held against the waves.
    assert r.state == "SUCCEEDED"
    assert doc["rejected_reasons"] == {"insufficient_ram": len(low)}
    assert {e.device_id for e in execs if e.state == "REJECTED"} == low
    assert doc["counts"]["SUCCEEDED"] == 12 - len(low) and doc["executed"] == 12 - len(low)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_stalled_broker_leaves_commands_recorded_and_sent_once(
    store: FleetStore, mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the broker acknowledges nothing, a turn gives up waiting at its deadline: the
    commands stay RECORDED and in paho's hands, the next turns do not publish them again,
    and they are marked SENT (or answered) once the broker is back."""
    from edgetui.fleet.mqtt import parse_broker
    from edgetui.fleet.rollouts import RolloutRunner
    from edgetui.fleet.rollouts import runner as runner_module

    monkeypatch.setattr(runner_module, "PUBACK_WAIT_S", 0.5)
    release = make_release(tmp_path)
    counter = CommandCounter(mosquitto.host, mosquitto.port)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 4, trusted_keys=(str(release.pub),), **SIM),
    ):
        wait_fleet(store, 4)
        start(store, release, "rs", waves=[100.0])
        runner = RolloutRunner(store, parse_broker(mosquitto.url), "rs", owner="t", tick_s=0.1)
        runner._connect()
        try:
            assert runner._connected.wait(30)
            os.kill(mosquitto.proc.pid, signal.SIGSTOP)
            try:
                for _ in range(3):  # the first records and hands over; the others wait
                    runner.turn()
                states = store.rollout_commands("rs")
                assert len(states) == 4 and {s for s, _ in states.values()} == {"RECORDED"}
                assert runner.published == 0 and len(runner._inflight) == 4
            finally:
                os.kill(mosquitto.proc.pid, signal.SIGCONT)
            r = until(lambda: (r := runner.turn()) and r.state == "SUCCEEDED" and r, 60, "done")
            assert r.state == "SUCCEEDED" and runner.published == 4
        finally:
            runner._client.loop_stop()
            runner._client.disconnect()
    until(lambda: len(counter.per_device("ota.apply")) == 4, 60, "4 commands counted")
    assert set(counter.per_id().values()) == {1}  # each published once, stall or not
    counter.close()
