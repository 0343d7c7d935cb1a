"""The "Buffer & uplink" panel on a fixed `buffer` section: figures, keys, snapshot."""

from __future__ import annotations

from typing import Any

from edgetui.tui.panels.buffer import BufferPanel
from tests.support.ui import make_app

BUFFER: dict[str, Any] = {
    "state": "backoff",
    "state_text": "not connected (connection refused); retrying",
    "broker": "mqtts://broker.example:8883",
    "client_id": "edgetui-cam-042",
    "mqtt_version": 5,
    "connected_since": None,
    "retry_in_s": 12.0,
    "attempts": 4,
    "error_kind": "connection_refused",
    "last_error": "connection refused by broker.example:8883 (no broker listening on that port)",
    "last_error_at": "2026-05-06T14:29:48Z",
    "queued": 1234,
    "queued_bytes": 524288,
    "max_messages": 100000,
    "max_bytes": 67108864,
    "fill_percent": 1.2,
    "by_class": {"alert": 1, "event": 33, "telemetry": 1100, "log": 100},
    "oldest_age_s": 3725.0,
    "inflight": 0,
    "window": 20,
    "send_rate": 0.0,
    "sent": 45210,
    "dropped": 3,
    "rejected": 0,
    "expired": 0,
    "rolled_up": 0,
    "store_errors": 0,
    "last_store_error": None,
    "seq": 46444,
    "on_full": "drop_oldest",
    "ttl_s": 604800.0,
    "path": "/var/lib/edgetui/edgetui.db",
    "moved_aside": None,
    "commands": [],
}


async def test_panel_shows_the_section_and_retry_key_calls_the_runtime() -> None:
    app, api = make_app({"buffer": BUFFER})
    api.results["buffer.retry"] = {"state": "connecting", "broker": BUFFER["broker"]}
    api.results["buffer.flush"] = {"ok": True, "sent": 1234, "remaining": 0}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = str(app.query_one(BufferPanel).render())
        assert "not connected (connection refused); retrying" in text
        assert "no broker listening on that port" in text  # the error in words
        assert "1,234 msgs" in text and "512.0 KiB" in text and "oldest 1h 2m" in text
        assert "dropped 3" in text and "seq 46,444" in text
        assert "next try in 12 s" in text
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
    assert [m for m, _ in api.calls] == ["buffer.retry", "buffer.flush"]


async def test_retry_is_hidden_in_readonly() -> None:
    app, api = make_app({"buffer": BUFFER}, readonly=True)
    api.results["buffer.retry"] = {"state": "connecting", "broker": None}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
    assert api.calls == []


async def test_panel_absent_without_the_section() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert not list(app.query(BufferPanel))


def test_buffer_panel_snapshot(snap_compare) -> None:
    app, _ = make_app({"buffer": BUFFER})
    assert snap_compare(app, terminal_size=(120, 40))
