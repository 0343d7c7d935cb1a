"""Pilot tests for the dashboard shell: keys, help, readonly, kiosk PIN, disconnect banner."""

from __future__ import annotations

from edgetui.tui.app import EdgeApp
from edgetui.tui.header import Banner, StatusHeader
from edgetui.tui.panels.resources import ResourcesPanel
from edgetui.tui.screens.help import HelpScreen
from edgetui.tui.screens.pin import PinScreen
from tests.support.fake_api import FakeAPI, fixed_snapshot
from tests.support.ui import daemon_that_returns, make_app, until


async def test_resources_panel_shows_snapshot_figures() -> None:
    app, _ = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        panel = app.query_one(ResourcesPanel)
        text = str(panel.render())
        assert "37.5%" in text  # cpu
        assert "51.5°C" in text  # temperature
        assert "10.2G free" in text  # disk
        header = app.query_one(StatusHeader)
        assert header.device.startswith("cam-042")
        assert header.mode == "standalone"


async def test_missing_temperature_is_shown_as_na() -> None:
    snap = fixed_snapshot()
    snap.resources.temperature_c = None
    app, _ = make_app(api=FakeAPI(snap))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "n/a" in str(app.query_one(ResourcesPanel).render())


async def test_help_lists_keys_and_closes() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.keys)
        assert keys.get("q") == "Quit"
        assert keys.get("^p") == "palette"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits() -> None:
    app, api = make_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert api.closed


async def test_kiosk_has_no_quit_and_pin_screen_checks_pin() -> None:
    app, api = make_app(kiosk=True)
    now = [1000.0]
    api.kiosk.guard.clock = lambda: now[0]  # the runtime's PIN check, on a test clock
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running  # q does nothing in kiosk mode
        assert "q" not in dict(app.key_table())
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PinScreen)
        await pilot.press("1", "1", "1", "1", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PinScreen)  # wrong PIN keeps the screen
        assert app.screen.attempts == 1
        assert "wrong PIN (1 of 5); next try in 1 s" in str(app.screen.last["message"])
        # Too soon after a wrong PIN: not even checked, however right it is.
        await pilot.press("4", "3", "2", "1", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PinScreen) and app.screen.last["reason"] == "backoff"
        now[0] += 1.0
        await pilot.press("4", "3", "2", "1", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, PinScreen)
        assert not app._locked()


async def test_readonly_is_shown_in_header() -> None:
    app, _ = make_app(readonly=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.query_one(StatusHeader).readonly
        assert "read-only" in str(app.query_one(StatusHeader).render())


async def test_disconnect_banner_and_reconnect() -> None:
    first = FakeAPI(fixed_snapshot("attached"), mode="attached")
    second = FakeAPI(fixed_snapshot("attached"), mode="attached")
    connect, reconnect, daemon_back = daemon_that_returns(first, second)
    app = EdgeApp(connect, reconnect, clock=lambda: "14:30:00", retry_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.connection == "attached"
        first.drop()
        await until(pilot, lambda: app.connection == "disconnected")
        banner = app.query_one(Banner)
        assert banner.has_class("-shown")
        assert "disconnected" in str(banner.render())
        daemon_back.set()
        await until(pilot, lambda: app.connection == "attached")
        assert not banner.has_class("-shown")
    assert first.closed


async def test_resize_reflows_to_two_columns() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panels = app.query_one("#panels")
        assert not panels.has_class("-wide")
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert panels.has_class("-wide")


async def test_command_palette_opens_and_offers_help() -> None:
    from textual.command import CommandList, CommandPalette

    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Help")

        # The palette searches in a worker: enter picks the highlighted command, which must
        # be the search's answer by then.
        def help_highlighted() -> bool:
            found = app.screen.query_one(CommandList)
            index = found.highlighted
            return index is not None and "Help" in str(found.get_option_at_index(index).prompt)

        await until(pilot, help_highlighted)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_kiosk_disables_command_palette() -> None:
    from textual.command import CommandPalette

    app, _ = make_app(kiosk=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
