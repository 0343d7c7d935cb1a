"""The kiosk theme: big digits for CPU, temperature and the alerts firing, and the verdict in
one high-contrast line, only in `--kiosk`; the PIN flow is unchanged."""

from __future__ import annotations

from textual.widgets import Digits, Static

from edgetui.models.alerts import AlertState
from edgetui.tui.kiosk_board import KioskBoard
from edgetui.tui.screens.pin import PinScreen
from tests.support.ui import make_app


async def test_the_board_shows_the_snapshots_figures_in_big_digits() -> None:
    app, api = make_app(kiosk=True)
    snap = api.snapshot
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        board = app.query_one(KioskBoard)
        cpu = board.query_one("#tile-cpu").query_one(Digits)
        assert cpu.value == f"{snap.resources.cpu_percent:.0f}"
        temp = board.query_one("#tile-temp").query_one(Digits)
        t = snap.resources.temperature_c
        assert temp.value == ("--" if t is None else f"{t:.0f}")
        firing = [a for a in snap.sections["alerts"].alerts if a.state == AlertState.FIRING]
        alerts = board.query_one("#tile-alerts")
        assert alerts.query_one(Digits).value == str(len(firing))
        assert alerts.has_class("-crit") == bool(firing)
        verdict = str(board.query_one("#verdict", Static).render())
        assert verdict == (f"{len(firing)} ALERT(S) FIRING" if firing else "ALL OK")


async def test_no_board_outside_kiosk_mode() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert not app.query(KioskBoard)


async def test_the_pin_flow_is_the_same_under_the_kiosk_theme() -> None:
    app, _ = make_app(kiosk=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PinScreen)


def test_kiosk_dashboard_snapshot(snap_compare) -> None:
    app, _ = make_app(kiosk=True)
    assert snap_compare(app, terminal_size=(120, 40))
