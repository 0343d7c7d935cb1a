"""The fleet console: Pilot tests and SVG snapshots on a fixed fleet (fixed clock)."""

from __future__ import annotations

from pathlib import Path

from edgetui.fleet.records import DeviceState
from edgetui.fleet.ui import FleetApp
from edgetui.fleet.ui.device import DeviceScreen
from edgetui.fleet.ui.table import DeviceTable
from tests.fleet.fixed_fleet import NOW, fixed_fleet
from tests.fleet.payloads import T0, telemetry, updates


def make(tmp_path: Path) -> FleetApp:
    return FleetApp(fixed_fleet(tmp_path), clock=lambda: NOW, refresh_s=3600)


def ids(app: FleetApp) -> list[str]:
    return [d.device_id for d in app.query_one(DeviceTable).rows]


async def test_table_sorts_filters_and_opens_a_device(tmp_path: Path) -> None:
    app = make(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        assert len(ids(app)) == 12 and ids(app)[0] == "cam-000"
        await pilot.press("s", "s", "s", "s", "s")  # id type status version slot -> cpu
        assert ids(app)[0] == "cam-000" and ids(app)[-1] == "gw-011"
        await pilot.press("r")
        assert ids(app)[0] == "gw-011"
        await pilot.press("slash", *"type=gateway", "enter")
        assert ids(app) == ["gw-011", "gw-010", "gw-009", "gw-008"]
        await pilot.press("escape")
        assert len(ids(app)) == 12
        await pilot.press("slash", *"nosuchfield>1", "enter")
        assert len(ids(app)) == 12  # a bad filter is an error toast, the table stays
        await pilot.press("escape")
        await pilot.press("slash", *"critical>0", "enter")
        assert ids(app) == ["cam-002"]
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DeviceScreen)
        assert [a.key for a in screen.alerts] == ["disk_free", "cpu_high"]
        assert [c.command_id for c in screen.commands] == ["cmd-2", "cmd-1"]
        assert len(screen.points) == 59
        await pilot.press("escape")
        assert not isinstance(app.screen, DeviceScreen)


async def test_a_tick_reads_only_changes_and_renders_only_visible_rows(tmp_path: Path) -> None:
    store = fixed_fleet(tmp_path)
    many = [telemetry(f"z-{i:05d}", T0, cpu=float(i % 100)) for i in range(3000)]
    store.apply(updates(*many, received=T0), now=T0)
    app = FleetApp(store, clock=lambda: NOW, refresh_s=3600)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(DeviceTable)
        await pilot.pause()
        assert len(table.rows) == 3012
        assert table.rendered_lines <= 2 * table.size.height  # not 3012
        store.apply(updates(telemetry("z-00001", T0 + 1, cpu=99.0)), now=T0 + 100)
        await app.reload()
        await pilot.pause()
        row = next(d for d in table.rows if d.device_id == "z-00001")
        assert isinstance(row, DeviceState) and row.cpu_percent == 99.0
        await pilot.press("end")
        assert table.current() == table.rows[-1].device_id


def test_snapshot_fleet_table(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make(tmp_path), terminal_size=(110, 20))


def test_snapshot_fleet_table_sorted_by_cpu_filtered(snap_compare, tmp_path: Path) -> None:
    press = ["s", "s", "s", "s", "s", "r", "slash", *"status=online", "enter"]
    assert snap_compare(make(tmp_path), press=press, terminal_size=(110, 20))


def test_snapshot_fleet_device_view(snap_compare, tmp_path: Path) -> None:
    press = ["down", "down", "enter"]
    assert snap_compare(make(tmp_path), press=press, terminal_size=(110, 40))


async def test_the_summary_says_what_the_ingest_reports(tmp_path: Path) -> None:
    from edgetui.fleet.ingest import IngestStats

    stats = IngestStats("f1", "g", "mqtt://127.0.0.1:1883", connected=False, written=7)
    stats.last_error = "broker mqtt://127.0.0.1:1883 refused $share/g/devices/+/telemetry"
    app = FleetApp(
        fixed_fleet(tmp_path), clock=lambda: NOW, refresh_s=3600, ingest_stats=lambda: stats
    )
    async with app.run_test(size=(200, 20)) as pilot:
        await pilot.pause()
        text = str(app.query_one("#summary").render())
        assert "ingest not connected, 7 msgs" in text
        assert "refused $share/g/devices/+/telemetry" in text
        await pilot.press("enter")  # the device view does not offer the table's keys
        await pilot.pause()
        assert isinstance(app.screen, DeviceScreen)
        assert "s" not in app.screen.active_bindings
        assert "escape" in app.screen.active_bindings
        await pilot.press("s")  # ignored here: the table is not focused
        assert isinstance(app.screen, DeviceScreen)
