"""The fleet console's Rollouts view (`o`): a Pilot test and an SVG snapshot on fixed
rollouts in a real SQLite store (fixed times)."""

from __future__ import annotations

from pathlib import Path

from edgetui.fleet.rollout_records import Execution, RolloutRecord, RolloutSpec
from edgetui.fleet.store import FleetStore
from edgetui.fleet.ui import FleetApp
from edgetui.fleet.ui.rollouts import RolloutsScreen
from tests.fleet.fixed_fleet import NOW, T0, fixed_fleet


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


def test_snapshot_fleet_rollouts(snap_compare, tmp_path: Path) -> None:
    app = FleetApp(fixed_rollouts(tmp_path), clock=lambda: NOW, refresh_s=3600)
    assert snap_compare(app, press=["o"], terminal_size=(110, 30))
