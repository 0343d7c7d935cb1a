"""Rollouts through the CLI and across processes: a runner SIGKILLed mid-rollout and started
again sends no command twice; pause/resume/abort/status; two runners sharing PostgreSQL
never run one rollout twice."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edgetui.fleet.store import FleetStore, open_store
from tests.fleet.helpers import ingesting, simulating, until
from tests.fleet.rollout_support import (
    CommandCounter,
    final,
    make_release,
    running,
    start,
    wait_fleet,
)
from tests.support.cli import ROOT, env, run_cli

pytestmark = pytest.mark.timeout(90)
SIM = {"install_s": 0.1, "health_s": 0.2, "telemetry_interval_s": 0.5}


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("fleet", *args)


def runner_process(
    db: str, url: str, rid: str, name: str, fault: str = ""
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "edgetui", "fleet", "rollout", "run", rid, "--store", db,
         "--broker", url, "--tick", "0.2", "--lease", "2", "--name", name],
        env={**env(), "EDGETUI_FAULT": fault}, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("step", ["recorded", "published"])
def test_a_killed_runner_resumes_without_sending_twice(
    store: FleetStore, store_url: str, mosquitto, tmp_path: Path, step: str
) -> None:
    """SIGKILLed at wave 2, once its commands are recorded (none published) or once the
    broker acknowledged them (none marked): the next runner goes on with no new command
    and no device executing one twice."""
    release = make_release(tmp_path)
    counter = CommandCounter(mosquitto.host, mosquitto.port)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 30, trusted_keys=(str(release.pub),), **SIM),
    ):
        wait_fleet(store, 30)
        made = fleet(
            "rollout", "create", "--store", store_url, "--manifest", release.manifest_url,
            "--key", str(release.key), "--waves", "10,50,100", "--health-window", "1s",
            "--min-executed", "4", "--id", "rk", "--json",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert [w["devices"] for w in json.loads(made.stdout)["waves"]] == [3, 12, 15]
        # The 2nd turn that reaches the step is wave 2's: wave 1's 3 commands were the 1st.
        first = runner_process(
            store_url, mosquitto.url, "rk", "runner-a", f"fleet.rollout.{step}@2"
        )
        try:
            assert first.wait(60) == -signal.SIGKILL
        finally:
            first.kill()
        r = store.rollout("rk")
        assert (r.state, r.wave, r.lease_owner) == ("RUNNING", 1, "runner-a")
        wave2 = {e.device_id for e in store.executions("rk") if e.wave == 1}
        assert len(wave2) == 12
        states = store.rollout_commands("rk")
        recorded = {cid for cid, (state, _) in states.items() if state == "RECORDED"}
        if step == "recorded":
            assert len(recorded) == 12  # wave 2's: recorded, none published
            assert not set(counter.per_device("ota.apply")) & wave2
        else:  # all published; those the devices have not answered yet are still RECORDED
            until(lambda: set(counter.per_device("ota.apply")) >= wave2, 60, "wave 2 sent")
            assert not {state for state, _ in states.values()} & {"SENT"}  # none marked
        second = runner_process(store_url, mosquitto.url, "rk", "runner-b")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert out.strip() == "rollout rk: SUCCEEDED"
    # The counter is one more subscriber: it may get the last commands after the devices.
    until(lambda: len(counter.per_device("ota.apply")) == 30, 60, "30 devices' commands")
    applies = counter.per_device("ota.apply")
    # One command id per device, whatever was published again.
    ids: dict[str, set[str]] = {}
    for d in counter.docs():
        ids.setdefault(d["_device"], set()).add(d["id"])
    assert {len(v) for v in ids.values()} == {1}
    if step == "recorded":  # nothing had gone out: everything published exactly once
        assert set(applies.values()) == {1}, applies
    else:  # what was unanswered went again under the same id, refused by the devices
        again = {d for d, n in applies.items() if n > 1}
        assert again <= {cid.split(".")[1] for cid in recorded}, (again, recorded)
        assert max(applies.values()) <= 2
    assert {e.attempt for e in store.executions("rk")} == {1}
    assert {e.state for e in store.executions("rk")} == {"SUCCEEDED"}
    assert {state for state, _ in store.rollout_commands("rk").values()} == {"SUCCEEDED"}
    counter.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_pause_resume_abort_and_status(
    store: FleetStore, store_url: str, mosquitto, tmp_path: Path
) -> None:
    release = make_release(tmp_path)
    counter = CommandCounter(mosquitto.host, mosquitto.port)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 4, trusted_keys=(str(release.pub),), **SIM),
    ):
        wait_fleet(store, 4)
        start(store, release, "rp", waves=[50.0, 100.0])
        paused = fleet("rollout", "pause", "rp", "--store", store_url, "--json")
        assert paused.returncode == 0, paused.stderr
        assert json.loads(paused.stdout)["state"] == "PAUSED"
        with running(store, mosquitto.url, "rp") as runner:
            until(lambda: runner.holding, 60, "the runner's lease")
            again = fleet("rollout", "pause", "rp", "--store", store_url)
            assert again.returncode == 1
            assert again.stderr.strip().endswith("rollout rp is PAUSED: cannot pause it")
            assert counter.per_device("ota.apply") == {}  # paused: nothing sent
            assert fleet("rollout", "resume", "rp", "--store", store_url).returncode == 0
            r = final(store, "rp")
        assert r.state == "SUCCEEDED"
        text = fleet("rollout", "status", "rp", "--store", store_url)
        assert text.returncode == 0
        assert "rollout rp  SUCCEEDED  wave 2/2  2.0.0" in text.stdout
        assert "succeeded 4, failed 0, rejected 0" in text.stdout
        every = json.loads(fleet("rollout", "status", "--store", store_url, "--json").stdout)
        assert [d["rollout_id"] for d in every] == ["rp"]
        assert every[0]["spec"]["waves"] == [50.0, 100.0]
        aborted = fleet("rollout", "abort", "rp", "--store", store_url)
        assert aborted.returncode == 1 and "is SUCCEEDED: cannot abort it" in aborted.stderr
        missing = fleet("rollout", "status", "nope", "--store", store_url)
        assert missing.returncode == 1 and "no rollout 'nope'" in missing.stderr
        bad = fleet(
            "rollout", "create", "--store", store_url, "--manifest", release.manifest_url,
            "--key", str(release.key), "--waves", "50,10",
        )  # fmt: skip
        assert bad.returncode == 2 and "cumulative percentages must increase" in bad.stderr
    counter.close()


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_two_runners_on_postgresql_run_one_rollout_once(
    store: FleetStore, store_url: str, mosquitto, tmp_path: Path
) -> None:
    release = make_release(tmp_path)
    counter = CommandCounter(mosquitto.host, mosquitto.port)
    other = open_store(store_url, tmp_path)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 10, trusted_keys=(str(release.pub),), **SIM),
    ):
        wait_fleet(store, 10)
        start(store, release, "rg", waves=[30.0, 100.0])
        # The lease outlasts any stall of a loaded machine (a turn waits up to 10 s for
        # PUBACKs): the runner that holds it releases it when the rollout is over.
        with (
            running(store, mosquitto.url, "rg", owner="a", lease_s=120.0) as a,
            running(other, mosquitto.url, "rg", owner="b", lease_s=120.0) as b,
        ):
            r = final(store, "rg")
            assert a.done.wait(60) and b.done.wait(60)
        assert r.state == "SUCCEEDED"
        assert (a.published == 0) != (b.published == 0)  # one of them ran it all
    other.close()
    until(lambda: len(counter.per_device("ota.apply")) == 10, 60, "10 devices' commands")
    assert set(counter.per_device("ota.apply").values()) == {1}
    counter.close()
