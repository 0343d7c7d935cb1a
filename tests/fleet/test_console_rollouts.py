"""The fleet console's Rollouts view (`o`): Pilot tests of its keys (pause, resume, abort,
run refused under another owner's lease, --readonly) and SVG snapshots, on fixed rollouts in
a real SQLite store (fixed times). Running a rollout to the end: test_console_run.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from edgetui.fleet import parse_broker
from edgetui.fleet.rollouts.records import Execution, RolloutRecord, RolloutSpec
from edgetui.fleet.store import FleetStore
from edgetui.fleet.ui import FleetApp
from edgetui.fleet.ui.device import DeviceScreen
from edgetui.fleet.ui.forms import CreateRolloutScreen
from edgetui.fleet.ui.rollouts import RolloutsScreen
from edgetui.widgets.confirm import ConfirmScreen
from tests.fleet.fixed_fleet import NOW, T0, fixed_fleet
from tests.fleet.rollout_support import VERSION, make_release

# No broker answers here: the tests that pass it never get as far as connecting.
NOWHERE = parse_broker("mqtt://127.0.0.1:9")


def fixed_rollouts(tmp_path: Path) -> FleetStore:
    store = fixed_fleet(tmp_path)
    spec = RolloutSpec(
        manifest_url="https://ota.example/2.0.0/manifest.json",
        version="2.0.0",
        key="/keys/operator.key",
        waves=[10.0, 50.0, 100.0],
        max_failure_rate=0.2,
        min_executed=4,
        auto_rollback=True,
    )
    halted = RolloutRecord(
        "r-halted", spec, state="HALTED", wave=1, created_at=T0 - 300, updated_at=T0 - 100,
        halt_reason="failure rate 3/6 = 50% above 20% in wave 2", wave_done=[T0 - 250],
    )  # fmt: skip
    states = ["SUCCEEDED", "SUCCEEDED", "FAILED", "FAILED", "FAILED", "SUCCEEDED", "REJECTED"]
    execs = []
    for i, state in enumerate(states + ["CANCELED"] * 5):
        e = Execution("r-halted", f"cam-{i:03d}", 0 if i < 2 else (1 if i < 7 else 2), state)
        e.reason = {
            "FAILED": "critical alert in the health window",
            "REJECTED": "insufficient_ram",
            "CANCELED": "rollout halted",
        }.get(state)
        if state == "SUCCEEDED":
            e.rollback_id, e.rollback_state = f"r-halted.cam-{i:03d}.rollback", "SUCCEEDED"
        execs.append(e)
    store.create_rollout(halted, execs)
    running = RolloutRecord(
        "r-running", RolloutSpec("file:///m.json", "2.1.0", "/k", waves=[50.0, 100.0]),
        created_at=T0 - 20, updated_at=T0 - 5,
    )  # fmt: skip
    store.create_rollout(
        running,
        [Execution("r-running", "gw-008", 0, "SENT"), Execution("r-running", "gw-009", 1)],
    )
    return store


async def test_the_rollouts_view_opens_and_closes(tmp_path: Path) -> None:
    app = FleetApp(fixed_rollouts(tmp_path), clock=lambda: NOW, refresh_s=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RolloutsScreen)
        assert [d["rollout_id"] for d in screen.docs] == ["r-running", "r-halted"]
        halted = screen.docs[1]
        assert halted["state"] == "HALTED" and halted["rejected_reasons"] == {"insufficient_ram": 1}
        assert [w["devices"] for w in halted["waves"]] == [2, 5, 5]
        assert halted["rollbacks"] == {"SUCCEEDED": 3}
        await pilot.press("escape")
        assert not isinstance(app.screen, RolloutsScreen)


async def test_the_rollouts_view_without_rollouts(tmp_path: Path) -> None:
    app = FleetApp(fixed_fleet(tmp_path), clock=lambda: NOW, refresh_s=3600)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, RolloutsScreen) and app.screen.docs == []


async def wait_ui(pilot: Pilot[Any], pred: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Let the app run until `pred` holds (its store calls run in threads); on a timeout,
    say what the Rollouts view shows."""
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > deadline:
            shown = {
                w.id: str(w.render())
                for w in pilot.app.screen.query(Static)
                if w.id in ("rollout-msg", "rollout-run", "error")
            }
            raise AssertionError(f"timed out after {timeout} s; the screen shows {shown}")
        await pilot.pause(0.05)
    return value


def said(app: FleetApp) -> str:
    """The Rollouts view's last message line."""
    return str(app.screen.query_one("#rollout-msg", Static).render())


def state(store: FleetStore, rid: str) -> str:
    r = store.rollout(rid)
    assert r is not None
    return r.state


async def test_pause_resume_and_abort_with_its_confirmation(tmp_path: Path) -> None:
    store = fixed_rollouts(tmp_path)
    app = FleetApp(store, clock=lambda: NOW, refresh_s=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RolloutsScreen) and screen.selected == "r-running"
        await pilot.press("p")
        await wait_ui(pilot, lambda: state(store, "r-running") == "PAUSED")
        await wait_ui(pilot, lambda: "r-running: PAUSED" in said(app))
        await wait_ui(pilot, lambda: screen.docs[0]["state"] == "PAUSED")  # redrawn
        await pilot.press("p")  # refused in one line, as the CLI refuses it
        await wait_ui(pilot, lambda: "is PAUSED: cannot pause it" in said(app))
        await pilot.press("r")
        await wait_ui(pilot, lambda: state(store, "r-running") == "RUNNING")
        await pilot.press("a")
        await wait_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # not confirmed: nothing changes
        await wait_ui(pilot, lambda: "not aborted" in said(app))
        assert state(store, "r-running") == "RUNNING"
        await pilot.press("a")
        await wait_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_ui(pilot, lambda: state(store, "r-running") == "ABORTED")
        execs = {e.device_id: e.state for e in store.executions("r-running")}
        assert execs == {"gw-008": "SENT", "gw-009": "PENDING"}  # the runner cancels them
        await pilot.press("down")  # the cursor selects the halted rollout
        await wait_ui(pilot, lambda: screen.selected == "r-halted")
        detail = str(screen.query_one("#rollout-detail", Static).render())
        assert "halted: failure rate 3/6 = 50% above 20% in wave 2" in detail
        assert "rejected 1 × insufficient_ram" in detail
        await pilot.press("r")
        await wait_ui(pilot, lambda: "r-halted is HALTED: cannot resume it" in said(app))


async def test_a_rollout_leased_by_another_process_is_not_run_here(tmp_path: Path) -> None:
    store = fixed_rollouts(tmp_path)
    assert store.claim_rollout("r-running", "fleet-b", now=time.time(), lease_s=600)
    app = FleetApp(store, clock=lambda: NOW, refresh_s=3600, broker=NOWHERE)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("x")
        await wait_ui(pilot, lambda: "not run here" in said(app))
        assert "rollout r-running not run here: run by fleet-b until" in said(app)
        assert app.runs.get("r-running") is None
        r = store.rollout("r-running")
        assert r is not None and r.lease_owner == "fleet-b"
        # The lease holder is shown in the table and the detail.
        detail = str(app.screen.query_one("#rollout-detail", Static).render())
        assert "run by fleet-b until" in detail


async def test_readonly_and_no_broker_hide_the_keys_that_change_rollouts(tmp_path: Path) -> None:
    store = fixed_rollouts(tmp_path)
    app = FleetApp(store, clock=lambda: NOW, refresh_s=3600, broker=NOWHERE, readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        for action in ("run", "stop", "pause", "resume", "abort", "create"):
            assert screen.check_action(action, ()) is False, action
        await pilot.press("p", "a", "x")
        await pilot.pause(0.2)
        assert isinstance(app.screen, RolloutsScreen)  # no confirmation opened
        assert state(store, "r-running") == "RUNNING" and app.runs.runs == {}
    app = FleetApp(store, clock=lambda: NOW, refresh_s=3600)  # no broker: no runner
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert app.screen.check_action("run", ()) is False
        assert app.screen.check_action("pause", ()) is True


async def test_the_device_view_lists_its_executions(tmp_path: Path) -> None:
    app = FleetApp(fixed_rollouts(tmp_path), clock=lambda: NOW, refresh_s=3600)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("enter")  # cam-000
        await wait_ui(pilot, lambda: isinstance(app.screen, DeviceScreen))
        screen = app.screen
        assert isinstance(screen, DeviceScreen)
        assert [(e.rollout_id, e.state) for e in screen.executions] == [("r-halted", "SUCCEEDED")]
        text = str(screen.query_one("#executions", Static).render())
        assert "r-halted  wave 1  SUCCEEDED" in text and "rollback SUCCEEDED" in text


def leased(tmp_path: Path) -> FleetStore:
    """The fixed rollouts, r-running held by another fleet process (fixed times)."""
    store = fixed_rollouts(tmp_path)
    assert store.claim_rollout("r-running", "fleet-b", now=T0, lease_s=15)
    return store


def test_snapshot_fleet_rollouts(snap_compare, tmp_path: Path) -> None:
    app = FleetApp(leased(tmp_path), clock=lambda: NOW - 20, refresh_s=3600, broker=NOWHERE)
    assert snap_compare(app, press=["o"], terminal_size=(120, 32))


def test_snapshot_fleet_rollouts_halted_selected(snap_compare, tmp_path: Path) -> None:
    app = FleetApp(fixed_rollouts(tmp_path), clock=lambda: NOW, refresh_s=3600, broker=NOWHERE)
    assert snap_compare(app, press=["o", "down"], terminal_size=(120, 32))


def test_snapshot_fleet_rollouts_abort_confirmation(snap_compare, tmp_path: Path) -> None:
    app = FleetApp(fixed_rollouts(tmp_path), clock=lambda: NOW, refresh_s=3600, broker=NOWHERE)
    assert snap_compare(app, press=["o", "a"], terminal_size=(120, 32))


async def test_n_creates_a_rollout_with_the_cli_s_checks(tmp_path: Path) -> None:
    release = make_release(tmp_path)
    store = fixed_rollouts(tmp_path)
    app = FleetApp(store, clock=lambda: NOW, refresh_s=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("n")
        form = await wait_ui(
            pilot, lambda: isinstance(app.screen, CreateRolloutScreen) and app.screen
        )

        def fill(**values: str) -> None:
            for fid, value in values.items():
                form.query_one(f"#f-{fid}", Input).value = value

        def error() -> str:
            return str(form.query_one("#error", Static).render())

        fill(manifest=release.manifest_url, key=str(release.key), waves="50,10")
        await pilot.click("#create")
        await wait_ui(pilot, lambda: "cumulative percentages must increase" in error())
        assert error() == "--waves '50,10': cumulative percentages must increase"
        fill(waves="50", success_threshold="most")
        form.query_one("#f-success_threshold", Input).focus()
        await pilot.press("enter")  # enter in a field submits too
        await wait_ui(pilot, lambda: "--success-threshold 'most': expected a number" in error())
        fill(success_threshold="0.9", target="type=gateway", rollout_id="r-new")
        # A button ignores clicks while it shows its last press (0.2 s, on a timer).
        create = form.query_one("#create", Button)
        await wait_ui(pilot, lambda: not create.has_class("-active"))
        await pilot.click("#create")
        await wait_ui(pilot, lambda: isinstance(app.screen, RolloutsScreen))
        await wait_ui(pilot, lambda: "r-new created" in said(app))
        r = store.rollout("r-new")
        assert r is not None and r.spec.waves == [50.0, 100.0] and r.spec.version == VERSION
        assert r.spec.success_threshold == 0.9
        assert [e.device_id for e in store.executions("r-new")] == [
            "gw-008", "gw-009", "gw-010", "gw-011"
        ]  # fmt: skip
        await wait_ui(pilot, lambda: app.screen.selected == "r-new")
        await pilot.press("n", "escape")  # cancelled: nothing created
        await wait_ui(pilot, lambda: isinstance(app.screen, RolloutsScreen))
        assert len(store.rollouts()) == 3


def test_snapshot_fleet_rollouts_create_form(snap_compare, tmp_path: Path) -> None:
    app = FleetApp(fixed_rollouts(tmp_path), clock=lambda: NOW, refresh_s=3600, broker=NOWHERE)
    assert snap_compare(app, press=["o", "n"], terminal_size=(120, 32))
