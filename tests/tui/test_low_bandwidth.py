"""Low-bandwidth mode: when it turns on (flags, config, a serial line at 115200 baud or
less, never a pseudo-terminal), what it holds back until the next redraw, ASCII gauges, and
one line instead of garbage on a terminal too small for it."""

from __future__ import annotations

import os
from dataclasses import replace

from edgetui.api import Notification
from edgetui.tui import glyphs
from edgetui.tui.header import StatusHeader
from edgetui.tui.line_speed import SERIAL_TTY, decide, serial_baud
from edgetui.tui.panels.resources import ResourcesPanel
from tests.support.ui import make_app

SLOW = "--low-bandwidth"


def test_the_flags_win_then_the_config_then_the_line() -> None:
    assert decide(False, True, 9600).on is False  # --no-low-bandwidth forces it off
    assert decide(True, False, None).why == "--low-bandwidth"
    assert decide(None, True, None).why == "[tui] low_bandwidth"
    assert decide(None, False, 9600).why == "serial console at 9600 baud"
    assert decide(None, False, 115200).on is True
    assert decide(None, False, 460800).on is False  # a fast line draws in full
    assert decide(None, False, None).on is False  # not a serial line


def test_a_pseudo_terminal_is_never_a_serial_line() -> None:
    leader, follower = os.openpty()
    try:
        assert serial_baud(follower) is None  # an SSH session's pty reports 38400 baud
    finally:
        os.close(leader)
        os.close(follower)
    assert SERIAL_TTY.match("/dev/ttyS0") and SERIAL_TTY.match("/dev/ttyUSB1")
    assert not SERIAL_TTY.match("/dev/pts/3")


async def test_the_header_says_so_and_snapshots_wait_for_the_next_redraw() -> None:
    app, api = make_app(low_bandwidth=SLOW, refresh_s=3600.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "low-bandwidth (--low-bandwidth)" in str(app.query_one(StatusHeader).render())
        first = app.snapshot
        assert first is not None  # the first snapshot is shown at once
        newer = replace(api.snapshot, version="9.9.9")
        api.push(Notification("snapshot", newer.to_dict()))
        api.push(Notification("event", {"type": "MOTION_DETECTED"}))
        await pilot.pause()
        assert app.snapshot is first and len(app._pending_notes) == 1  # held back
        app.flush_pending()
        await pilot.pause()
        assert app.snapshot is not None and app.snapshot.version == "9.9.9"
        assert app._pending is None and app._pending_notes == []


async def test_ascii_gauges() -> None:
    app, _ = make_app(ascii=True)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            text = str(app.query_one(ResourcesPanel).render())
            assert "#" in text and not any(c in text for c in "█▏▎▍▌▋▊▉▁▂▃▄▅▆▇")
    finally:
        glyphs.set_ascii(False)


async def test_a_terminal_too_small_gets_one_line() -> None:
    app, _ = make_app(low_bandwidth=SLOW)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-too-small")
        line = str(app.query_one("#too-small").render())
        assert line == "edgetui needs at least 60x16; this terminal is 40x10"
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")


def test_low_bandwidth_ascii_snapshot(snap_compare) -> None:
    app, _ = make_app(low_bandwidth=SLOW, ascii=True)
    try:
        assert snap_compare(app, terminal_size=(80, 24))
    finally:
        glyphs.set_ascii(False)
