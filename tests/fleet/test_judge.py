"""The halt's failure rate, on `judge` alone (a pure function: no store, no broker)."""

from __future__ import annotations

from edgetui.fleet.records import DeviceState
from edgetui.fleet.rollouts.judge import halt_rate, judge
from edgetui.fleet.rollouts.records import Execution, RolloutRecord, RolloutSpec

T0 = 1_780_000_000.0
NEW = "2.0.0"


def _rollout(max_rate: float, min_executed: int) -> RolloutRecord:
    spec = RolloutSpec(
        manifest_url="file:///m.json",
        version=NEW,
        key="/k",
        waves=[10.0, 100.0],
        success_threshold=0.9,
        max_failure_rate=max_rate,
        min_executed=min_executed,
        health_window_s=5.0,
        timeout_s=300.0,
    )
    return RolloutRecord("r", spec, wave=1, created_at=T0, updated_at=T0, wave_done=[T0 + 10])


def _installed(dev: str, wave: int, committed_at: float | None = None) -> Execution:
    return Execution(
        "r",
        dev,
        wave,
        state="INSTALLED",
        attempt=1,
        command_id=f"r.{dev}.1",
        sent_at=T0 + 10,
        installed_at=T0 + 11,
        committed_at=committed_at,
    )


def _device(dev: str, *, good: bool, critical: int = 0) -> DeviceState:
    return DeviceState(
        dev,
        status="online",
        version=NEW if good else "1.0.0",
        slot_status="good",
        alerts_critical=critical,
    )


def _big_wave(committed_at: float | None) -> tuple[list[Execution], dict[str, DeviceState]]:
    """Wave 1: 10 devices that succeeded. Wave 2, sent at once: 100 devices, 2 of them
    failing their health check (a critical alert) and 98 committed on the new release."""
    execs = [
        Execution("r", f"a{i}", 0, state="SUCCEEDED", attempt=1, committed_at=T0 + 3)
        for i in range(10)
    ]
    devices = {}
    for i in range(100):
        dev = f"b{i:03d}"
        fails = i < 2
        execs.append(_installed(dev, 1, None if fails else committed_at))
        devices[dev] = _device(dev, good=not fails, critical=1 if fails else 0)
    return execs, devices


def test_a_big_waves_failures_do_not_count_before_its_commits() -> None:
    # 2% of the wave fails; a 5% maximum must not halt. The failures are known at once,
    # the successes only after their health window: counting only those, the first turn
    # would read 2 failed of 12 executed (17%) and halt.
    r = _rollout(0.05, min_executed=10)
    execs, devices = _big_wave(committed_at=None)
    judge(r, execs, devices, {}, T0 + 14)  # the 98 are seen committed in this turn
    assert r.state == "RUNNING"
    assert halt_rate(execs) == (2, 110)
    assert sum(e.state == "FAILED" for e in execs) == 2
    judge(r, execs, devices, {}, T0 + 20)  # their health window is over: the last wave met
    assert r.state == "SUCCEEDED" and r.halt_reason is None
    assert sum(e.state == "SUCCEEDED" for e in execs) == 108


def test_the_halt_still_fires_on_a_real_failure_rate() -> None:
    r = _rollout(0.01, min_executed=10)
    execs, devices = _big_wave(committed_at=T0 + 13)
    judge(r, execs, devices, {}, T0 + 14)
    assert r.state == "HALTED"
    assert r.halt_reason == "failure rate 2/110 = 2% above 1% in wave 2"
    assert r.updated_at == T0 + 14


def test_a_committed_device_failing_in_its_window_moves_to_the_failures() -> None:
    r = _rollout(0.05, min_executed=1)
    execs = [_installed("c1", 1, committed_at=T0 + 13)]
    assert halt_rate(execs) == (0, 1)
    judge(r, execs, {"c1": _device("c1", good=True, critical=1)}, {}, T0 + 15)
    assert execs[0].state == "FAILED"
    assert halt_rate(execs) == (1, 1)
    assert r.state == "HALTED"


def test_devices_still_installing_do_not_count() -> None:
    execs = [_installed("d1", 1), Execution("r", "d2", 1, state="SENT"), _installed("d3", 1)]
    execs[2].state = "REJECTED"
    assert halt_rate(execs) == (0, 0)


def test_no_commit_fails_only_once_the_device_said_so_after_its_window() -> None:
    # A device offline in its health window (or whose messages are late at the ingest) is not
    # failed for a commit the fleet did not hear about yet; its own telemetry from after the
    # window that still shows no commit fails it.
    r = _rollout(0.5, min_executed=100)
    e = _installed("d1", 1)  # installed_at T0 + 11; window 5 s
    trial = DeviceState("d1", status="offline", version=NEW, slot_status="trial")
    trial.last_telemetry = T0 + 12
    judge(r, [e], {"d1": trial}, {}, T0 + 30)
    assert e.state == "INSTALLED"
    back = DeviceState("d1", status="online", version=NEW, slot_status="good")
    back.last_telemetry = T0 + 14  # the commit it kept in its outbox while offline
    judge(r, [e], {"d1": back}, {}, T0 + 31)
    assert (e.state, e.committed_at) == ("INSTALLED", T0 + 31)
    judge(r, [e], {"d1": back}, {}, T0 + 36)
    assert e.state == "SUCCEEDED"

    r = _rollout(0.5, min_executed=100)
    e = _installed("d2", 1)
    stuck = DeviceState("d2", status="online", version=NEW, slot_status="trial")
    stuck.last_telemetry = T0 + 15.9  # before the window's end: no verdict yet
    judge(r, [e], {"d2": stuck}, {}, T0 + 17)
    assert e.state == "INSTALLED"
    stuck.last_telemetry = T0 + 16  # the window is over and the device still says trial
    judge(r, [e], {"d2": stuck}, {}, T0 + 17)
    assert (e.state, e.reason) == ("FAILED", "slot not committed within the health window")


def _sent(dev: str, sent_at: float) -> Execution:
    return Execution("r", dev, 1, state="SENT", attempt=1, command_id=f"r.{dev}.1", sent_at=sent_at)


def test_an_update_answered_but_never_finished_times_out_in_progress() -> None:
    r = _rollout(max_rate=0.5, min_executed=100)
    r.spec.in_progress_timeout_s, r.spec.timeout_s = 600.0, 3600.0
    now = T0 + 1000
    execs = [_sent("old", now - 600), _sent("young", now - 599), _sent("silent", now - 900)]
    devices = {e.device_id: _device(e.device_id, good=False) for e in execs}
    results = {"r.old.1": ("IN_PROGRESS", None), "r.young.1": ("QUEUED", None)}
    turn = judge(r, execs, devices, results, now)
    got = {e.device_id: (e.state, e.reason) for e in execs}
    assert got["old"] == ("TIMED_OUT", "IN_PROGRESS for 600 s without a result")
    assert got["young"] == ("SENT", None)  # not yet
    # Never answered at all: the retry rule's business (`retry_after_s`), not this one.
    assert [(e.device_id, e.attempt) for e in turn.sends] == [("silent", 2)]
    assert halt_rate(execs) == (1, 1)  # a stuck update counts against the rollout


def test_without_an_in_progress_timeout_only_the_rollout_s_timeout_ends_it() -> None:
    r = _rollout(max_rate=0.5, min_executed=100)
    r.spec.in_progress_timeout_s = 0.0
    e = _sent("d", T0 + 10)
    judge(r, [e], {"d": _device("d", good=False)}, {"r.d.1": ("IN_PROGRESS", None)}, T0 + 290)
    assert e.state == "SENT"
    judge(r, [e], {"d": _device("d", good=False)}, {"r.d.1": ("IN_PROGRESS", None)}, T0 + 300)
    assert (r.state, e.state) == ("TIMED_OUT", "TIMED_OUT")
