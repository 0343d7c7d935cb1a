"""SVG snapshots of the dashboard shell (fixed snapshot source, fixed clock)."""

from __future__ import annotations

from tests.support.ui import make_app


def test_dashboard_80x24(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=(80, 24))


def test_dashboard_160x48(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=(160, 48))


def test_help_screen(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, press=["question_mark"], terminal_size=(80, 24))


def test_kiosk_pin_screen(snap_compare) -> None:
    app, _ = make_app(kiosk=True)
    assert snap_compare(app, press=["p"], terminal_size=(80, 24))
