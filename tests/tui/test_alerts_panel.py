"""Alerts panel and header badge: Pilot tests and SVG snapshots on the fixed `alerts` section
(tests/support/fake_api.py's ALERTS); ack and silence go to the RuntimeAPI methods."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from edgetui.tui.header import StatusHeader
from edgetui.tui.panels.alerts import AlertsPanel
from edgetui.tui.screens.alert_action import AlertActionScreen, parse_duration
from edgetui.tui.screens.pin import PinScreen
from tests.support.ui import make_app, until


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()


def text_of(widget: Any) -> str:
    console = Console(width=max(widget.size.width - 2, 20), record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_firing_first_by_severity_with_since_value_and_rule() -> None:
    app, _ = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        lines = text_of(app.query_one(AlertsPanel)).splitlines()
        assert [line.split()[2] for line in lines] == [
            "agent_crash_loop",
            "disk_free_low",
            "inference_p95_regression",
        ]  # firing (critical, then warning), then pending; the resolved one is not listed
        crash = lines[0]
        for part in ("CRIT", "firing", "since 14:25:00 (5m)", "= 4", "restarted", "muted→15:25"):
            assert part in crash, part
        assert "✓ack" in lines[1] and "= 8.4" in lines[1] and "WARN" in lines[1]
        assert "pending" in lines[2] and "(1m)" in lines[2]
        assert "▲ 1 crit 2 warn" in str(app.query_one(StatusHeader).content)


async def test_without_the_alert_engine_no_badge_and_it_says_so() -> None:
    app, _ = make_app({"alerts": None})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert text_of(app.query_one(AlertsPanel)).strip() == "alerts not running"
        header = str(app.query_one(StatusHeader).content)
        assert "crit" not in header and "alerts" not in header
        keys = {k for k, _ in app.key_table()}
        assert "a" not in keys and "s" not in keys  # nothing to act on
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, AlertActionScreen)


async def test_no_alerts_is_said_quietly() -> None:
    app, _ = make_app({"alerts": {"alerts": [], "counts": {"critical": 0, "warning": 0}}})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "no alert firing or pending" in text_of(app.query_one(AlertsPanel))
        assert "no alerts" in str(app.query_one(StatusHeader).content)


async def test_ack_picks_an_unacknowledged_alert() -> None:
    app, api = make_app()
    api.results["alerts.ack"] = {"name": "agent_crash_loop", "acknowledged": True}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AlertActionScreen))
        # disk_free_low is already acknowledged: only the two others are offered.
        assert [a.name for a in app.screen.alerts] == [
            "agent_crash_loop",
            "inference_p95_regression",
        ]
        await pilot.press("down", "enter")
        want = ("alerts.ack", {"name": "inference_p95_regression"})
        await until(pilot, lambda: want in api.calls)


async def test_silence_asks_for_how_long_and_why() -> None:
    app, api = make_app()
    api.results["alerts.silence"] = {"name": "agent_crash_loop"}
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, AlertActionScreen))
        await pilot.press("enter")  # the first: agent_crash_loop
        await pilot.press("backspace", "backspace", "x", "enter")  # "x" is not a duration
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AlertActionScreen) and not api.calls
        await pilot.press("backspace", *"30m", "enter", *"new sensor", "enter")
        want = {"name": "agent_crash_loop", "for_s": 1800.0, "comment": "new sensor"}
        await until(pilot, lambda: ("alerts.silence", want) in api.calls)


async def test_readonly_hides_ack_and_silence() -> None:
    app, api = make_app(readonly=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "s")
        await settle(pilot)
        assert not isinstance(app.screen, AlertActionScreen) and not api.calls
        keys = {k for k, _ in app.key_table()}
        assert "a" not in keys and "s" not in keys


async def test_kiosk_asks_for_the_pin_first() -> None:
    app, _ = make_app(kiosk=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, PinScreen))
        await pilot.press(*"4321", "enter")
        await until(pilot, lambda: isinstance(app.screen, AlertActionScreen))


def test_durations() -> None:
    assert parse_duration("1h") == 3600 and parse_duration("2h30m") == 9000
    assert parse_duration("90s") == 90 and parse_duration(" 1d ") == 86400
    for bad in ("", "x", "10", "1h x", "0m", "-5m"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_alerts_panel_snapshot_100x30(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=(100, 30))


def test_alerts_silence_screen_snapshot(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, press=["s"], terminal_size=(100, 30))
