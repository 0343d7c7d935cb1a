"""Running a rollout from the fleet console (`x` in the Rollouts view): a real mosquitto, a
real SQLite fleet store, simulated devices that verify the signed commands, the ingest in
this process and the console's runner in its thread worker. `s` and quitting stop the
runner and release the lease; a failing turn is one line on the screen, not a crash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Static

from edgetui.fleet import parse_broker
from edgetui.fleet.rollouts import create_rollout
from edgetui.fleet.store import FleetStore, open_store
from edgetui.fleet.ui import FleetApp
from edgetui.fleet.ui.rollouts import RolloutsScreen
from tests.fleet.fixed_fleet import fixed_fleet
from tests.fleet.helpers import ingesting, simulating
from tests.fleet.rollout_support import VERSION, make_release, spec, start, wait_fleet
from tests.fleet.test_console_rollouts import said, wait_ui

pytestmark = pytest.mark.timeout(90)
SIM = {"install_s": 0.1, "health_s": 0.2, "telemetry_interval_s": 0.5}


def console(store: FleetStore, url: str) -> FleetApp:
    return FleetApp(
        store, refresh_s=0.2, broker=parse_broker(url), runner_owner="console-t", runner_tick_s=0.1
    )


def text(app: FleetApp, widget: str) -> str:
    return str(app.screen.query_one(widget, Static).render())


def lease_owner(store: FleetStore, rid: str) -> str | None:
    r = store.rollout(rid)
    assert r is not None
    return r.lease_owner


async def test_run_a_rollout_to_success_from_the_console(mosquitto, tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    release = make_release(tmp_path)
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 6, trusted_keys=(str(release.pub),), **SIM),
    ):
        wait_fleet(store, 6)
        start(store, release, "r1", waves=[50.0, 100.0], min_executed=2)
        app = console(store, mosquitto.url)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("o")
            await wait_ui(pilot, lambda: isinstance(app.screen, RolloutsScreen))
            await pilot.press("x")
            await wait_ui(pilot, lambda: app.runs.get("r1") is not None)
            # Live progress: this console holds the lease while the waves go out.
            await wait_ui(pilot, lambda: "running here as console-t" in text(app, "#rollout-run"))
            assert lease_owner(store, "r1") == "console-t"
            assert app.screen.check_action("run", ()) is False  # already running here
            assert app.screen.check_action("stop", ()) is True
            await wait_ui(pilot, lambda: "SUCCEEDED" in text(app, "#rollout-detail"), 60)
            await wait_ui(pilot, lambda: not app.runs.active("r1"), 20)
            await wait_ui(pilot, lambda: "finished: SUCCEEDED" in text(app, "#rollout-run"))
            detail = text(app, "#rollout-detail")
            assert "wave 2/2" in detail and "succeeded 6" in detail
            assert "lease: free" in detail
        r = store.rollout("r1")
        assert r is not None and r.state == "SUCCEEDED" and r.lease_owner is None
        assert all(e.state == "SUCCEEDED" for e in store.executions("r1"))
        assert all(d.version == VERSION for d in store.devices())
    store.close()


def waiting_rollout(tmp_path: Path) -> FleetStore:
    """A rollout to a device that never comes online: its runner goes on until stopped."""
    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    release = make_release(tmp_path)
    create_rollout(store, spec(release, target=["ghost-1"]), rollout_id="r-wait")
    return store


async def test_s_stops_the_runner_and_releases_the_lease(mosquitto, tmp_path: Path) -> None:
    store = waiting_rollout(tmp_path)
    app = console(store, mosquitto.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await wait_ui(pilot, lambda: isinstance(app.screen, RolloutsScreen))
        await pilot.press("x")
        await wait_ui(pilot, lambda: "running here" in text(app, "#rollout-run"))
        assert lease_owner(store, "r-wait") == "console-t"
        await pilot.press("s")
        await wait_ui(pilot, lambda: "runner stopped, lease released" in said(app), 20)
        assert not app.runs.active("r-wait")
        assert lease_owner(store, "r-wait") is None
        assert "runner stopped" in text(app, "#rollout-run")
        r = store.rollout("r-wait")
        assert r is not None and r.state == "RUNNING"  # stopping the runner is not abort
    store.close()


async def test_quitting_the_console_stops_its_runners(mosquitto, tmp_path: Path) -> None:
    store = waiting_rollout(tmp_path)
    app = console(store, mosquitto.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await wait_ui(pilot, lambda: isinstance(app.screen, RolloutsScreen))
        await pilot.press("x")
        await wait_ui(pilot, lambda: lease_owner(store, "r-wait") == "console-t")
        await pilot.press("escape")  # leaving the view does not stop the runner
        await wait_ui(pilot, lambda: "running 1 rollout here" in text(app, "#summary"))
        assert app.runs.active("r-wait")
        started = time.monotonic()
        await pilot.press("q")
        await wait_ui(pilot, lambda: not app.runs.active("r-wait"), 20)
    assert time.monotonic() - started < 15
    assert lease_owner(store, "r-wait") is None
    store.close()


async def test_a_failing_turn_is_one_line_and_the_console_goes_on(
    mosquitto, tmp_path: Path
) -> None:
    store = fixed_fleet(tmp_path)
    release = make_release(tmp_path)
    create_rollout(store, spec(release, target=["cam-000"]), rollout_id="r-nokey")
    release.key.unlink()  # the runner cannot sign: every turn fails
    app = console(store, mosquitto.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        await wait_ui(pilot, lambda: isinstance(app.screen, RolloutsScreen))
        await pilot.press("x")
        await wait_ui(pilot, lambda: "last turn failed" in text(app, "#rollout-run"), 20)
        line = text(app, "#rollout-run")
        assert "\n" not in line and "FileNotFoundError" in line
        await pilot.press("p")  # the console still answers
        await wait_ui(pilot, lambda: "r-nokey: PAUSED" in said(app))
        await pilot.press("s")
        await wait_ui(pilot, lambda: not app.runs.active("r-nokey"), 20)
    assert lease_owner(store, "r-nokey") is None
    store.close()
