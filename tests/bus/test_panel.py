"""Bus panel: Pilot tests and SVG snapshots on a FakeAPI with fixed events."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from edgetui.api import Notification
from edgetui.tui.app import EdgeApp
from edgetui.tui.panels.bus import MAX_LINES, BusPanel
from tests.support.fake_api import FakeAPI, fixed_snapshot
from tests.support.ui import daemon_that_returns, make_app, until

SECTION: dict[str, Any] = {
    "published": 1234,
    "delivered": 3690,
    "dropped": 12,
    "rejected": 0,
    "sink_errors": 0,
    "history": 500,
    "history_size": 500,
    "queue_size": 1000,
    "subscribers": [
        {"name": "llm", "pattern": "MOTION_*", "queued": 0, "delivered": 400, "dropped": 0},
        {
            "name": "speaker",
            "pattern": "SPEAK_WARNING",
            "queued": 2,
            "delivered": 90,
            "dropped": 12,
        },
    ],
    "bridge": {"state": "connected", "url": "mqtt://127.0.0.1:1883", "rejected": 3},
}


def ev(n: int, type_: str = "MOTION_DETECTED", **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"id-{n:04d}",
        "source": "edgetui://cam-042/sensor"
        if type_ != "SPEAK_WARNING"
        else "edgetui://cam-042/llm",
        "type": type_,
        "time": f"2026-05-06T14:29:{n % 60:02d}.{n % 1000:03d}Z",
        "datacontenttype": "application/json",
        "data": data or {"location": "front_door"},
    }


HISTORY = [ev(1), ev(2, "TEMPERATURE", value=21.5), ev(3, "SPEAK_WARNING", message="Who is there?")]
LIVE = [ev(4, "MOTION_DETECTED", location="garage"), ev(5, "TEMPERATURE", value=22.0)]


def bus_app(**kw: Any) -> tuple[Any, FakeAPI]:
    api = FakeAPI(fixed_snapshot(sections={"bus": SECTION}))
    api.results["bus.history"] = HISTORY
    return make_app(api=api, **kw)


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()


async def push_live(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await settle(pilot)
    for e in LIVE:
        app._test_api.push(Notification("event", e))  # type: ignore[attr-defined]
    await settle(pilot)


def logged(panel: BusPanel) -> list[str]:
    return [strip.text for strip in panel.log_widget.lines]


async def test_panel_shows_history_then_live_events_and_stats() -> None:
    app, api = bus_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        panel = app.query_one(BusPanel)
        assert ("bus.history", {"limit": MAX_LINES}) in api.calls
        for e in LIVE:
            api.push(Notification("event", e))
        api.push(Notification("event", HISTORY[0]))  # a duplicate id is shown once
        await settle(pilot)
        lines = logged(panel)
        assert len(lines) == 5
        assert "MOTION_DETECTED" in lines[0] and "front_door" in lines[0]
        assert "garage" in lines[3] and '"value":22.0' in lines[4]
        stats = str(panel.query_one("#bus-stats").render())
        assert "published 1234" in stats and "dropped 12" in stats
        assert "bridge connected" in stats and "(3 bad msgs)" in stats


async def test_filter_key_sets_a_type_filter_and_escape_cancels() -> None:
    app, api = bus_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        panel = app.query_one(BusPanel)
        await pilot.press("slash")
        await settle(pilot)
        box = panel.query_one(Input)
        assert box.has_focus
        await pilot.press(*"TEMP*", "enter")
        await settle(pilot)
        assert panel.type_filter == "TEMP*" and not box.has_focus
        assert all("TEMPERATURE" in line for line in logged(panel)) and len(logged(panel)) == 1
        api.push(Notification("event", LIVE[0]))  # a motion event: kept but not shown
        api.push(Notification("event", LIVE[1]))
        await settle(pilot)
        assert len(logged(panel)) == 2
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("m", "escape")  # typed into the box, then cancelled: no publish
        await settle(pilot)
        assert panel.type_filter == "TEMP*"
        assert not any(c[0] == "bus.publish" for c in api.calls)
        await pilot.press("slash")
        await settle(pilot)
        box.value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert panel.type_filter == "*" and len(logged(panel)) == 5


async def test_pause_holds_new_lines_and_resume_shows_them() -> None:
    app, api = bus_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        panel = app.query_one(BusPanel)
        await pilot.press("z")
        await settle(pilot)
        assert panel.paused
        for e in LIVE:
            api.push(Notification("event", e))
        await settle(pilot)
        assert len(logged(panel)) == 3
        assert "PAUSED +2" in str(panel.query_one("#bus-stats").render())
        await pilot.press("z")
        await settle(pilot)
        assert not panel.paused and len(logged(panel)) == 5


async def test_test_motion_key_publishes_through_the_api() -> None:
    app, api = bus_app()
    api.results["bus.publish"] = ev(9)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
    calls = [p for m, p in api.calls if m == "bus.publish"]
    assert calls == [
        {
            "type": "MOTION_DETECTED",
            "data": {"location": "technician_test", "test": True},
            "source": "edgetui://cam-042/tui",
        }
    ]


async def test_test_motion_is_hidden_in_readonly() -> None:
    app, api = bus_app(readonly=True)
    api.results["bus.publish"] = ev(9)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
    assert not any(m == "bus.publish" for m, _ in api.calls)


async def test_log_is_bounded() -> None:
    app, _ = bus_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        panel = app.query_one(BusPanel)
        for n in range(MAX_LINES + 150):
            panel.on_note(Notification("event", ev(1000 + n, "TEMPERATURE", value=n)))
        await settle(pilot)
        assert len(panel.events) == MAX_LINES and len(panel._ids) == MAX_LINES
        assert len(panel.log_widget.lines) <= MAX_LINES
        assert panel.events[-1]["data"]["value"] == MAX_LINES + 149


@pytest.mark.parametrize("daemon_restarted", [False, True])
async def test_reconnect_fills_in_the_events_missed_while_away(daemon_restarted: bool) -> None:
    """Back from a daemon outage, the panel reads the history again: the events published
    meanwhile appear in order, and the ones it already showed stay (once)."""
    away = [ev(6, "SPEAK_WARNING", message="back soon"), ev(7)]
    _, first = bus_app()
    second = FakeAPI(fixed_snapshot(sections={"bus": SECTION}))
    # A restarted daemon's history starts empty; a daemon that only lost us keeps its ring.
    second.results["bus.history"] = away if daemon_restarted else HISTORY + LIVE + away
    connect, reconnect, back = daemon_that_returns(first, second)
    app = EdgeApp(connect, reconnect, clock=lambda: "14:30:00", retry_s=0.05)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        for e in LIVE:
            first.push(Notification("event", e))
        await settle(pilot)
        panel = app.query_one(BusPanel)
        assert len(logged(panel)) == 5
        first.drop()
        await until(pilot, lambda: app.connection == "disconnected")
        back.set()
        await until(pilot, lambda: ("bus.history", {"limit": MAX_LINES}) in second.calls)
        await settle(pilot)
        assert [e["id"] for e in panel.events] == [f"id-{n:04d}" for n in range(1, 8)]
        lines = logged(panel)
        assert len(lines) == 7 and "back soon" in lines[5]


async def test_no_bus_section_means_no_panel() -> None:
    app, _ = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        assert not app.query(BusPanel)


def _snap_app() -> Any:
    app, api = bus_app()
    app._test_api = api  # type: ignore[attr-defined]
    return app


def test_bus_panel_snapshot_100x40(snap_compare: Any) -> None:
    assert snap_compare(_snap_app(), terminal_size=(100, 40), run_before=push_live)


def test_bus_panel_snapshot_80x24(snap_compare: Any) -> None:
    assert snap_compare(_snap_app(), terminal_size=(80, 24), run_before=push_live)
