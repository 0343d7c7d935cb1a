"""The kiosk dashboard says, once, how to replace a plain-text PIN (Pilot)."""

from __future__ import annotations

from tests.support.ui import make_app

KIOSK = {
    "pin": "plain",
    "failures": 0,
    "max_attempts": 5,
    "locked": False,
    "retry_in_s": 0.0,
    "lockouts": 0,
    "warning": "the kiosk PIN is plain text ([ui] kiosk_pin): run `edgetui kiosk set-pin`",
}


async def test_kiosk_mode_shows_the_plain_pin_warning_once() -> None:
    app, api = make_app({"kiosk": KIOSK}, kiosk=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.apply_snapshot(api.snapshot)  # a second snapshot: no second toast
        await pilot.pause()
        texts = [str(n.message) for n in app._notifications]
        assert sum("edgetui kiosk set-pin" in t for t in texts) == 1


async def test_not_in_kiosk_mode() -> None:
    app, _ = make_app({"kiosk": KIOSK})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not any("kiosk" in str(n.message) for n in app._notifications)
