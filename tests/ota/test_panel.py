"""OTA panel: Pilot tests and SVG snapshots on a fixed `ota` section."""

from __future__ import annotations

import copy
from typing import Any

from edgetui.api import Notification
from edgetui.tui.panels.ota import OtaPanel
from edgetui.tui.screens.confirm import ConfirmScreen
from tests.support.ui import make_app, until

SLOT = {
    "status": "good",
    "version": "1.0.0",
    "sha256": "sha256:e62aad46650ee0b7fea61fe242997dafc127fd25a8d9d6424b9bc3df82e654d1",
    "content_sha256": "sha256:28037649d242b564",
    "installed_at": "2026-05-01T09:12:00Z",
    "activated_at": "2026-05-01T09:12:00Z",
    "boot_attempts": 0,
    "last_error": None,
    "installing": None,
}
OTA: dict[str, Any] = {
    "booted": "a",
    "primary": "a",
    "max_boot_attempts": 3,
    "auto_commit": True,
    "manifest_url": "/var/lib/edgetui/repo/manifest.json",
    "slots": {
        "a": {"name": "a", "path": "/s/a", **SLOT},
        "b": {
            "name": "b",
            "path": "/s/b",
            **SLOT,
            "status": "bad",
            "version": "1.2.0",
            "sha256": "sha256:9f1c0b7e3a5d4c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b",
            "installed_at": "2026-05-06T14:20:00Z",
            "activated_at": "2026-05-06T14:20:05Z",
            "last_error": "health check failed: agents: agent sensor crashed: RuntimeError",
        },
    },
    "update": {
        "state": "available",
        "available": {"version": "1.3.0", "changes": "faster model", "size": 239737},
        "message": "1.3.0 is available (installed: 1.0.0)",
    },
    "progress": None,
    "health": None,
    "last_check": {"time": "2026-05-06T14:29:00Z", "ok": True, "message": "1.3.0 available"},
    "last_rollback_reason": "1.2.0 rolled back to 1.0.0 (slot a): health check failed: "
    "agents: agent sensor crashed: RuntimeError",
    "validation": {
        "from_version": "1.0.0",
        "to_version": "1.2.0",
        "before": {"golden": {"passed": 12, "total": 12}, "golden_ok": True},
        "after": {"golden": {"passed": 11, "total": 12}, "golden_ok": False},
        "summary": "golden 12/12 -> 11/12, p95 31 -> 33 ms",
    },
    "history": [
        {
            "time": "2026-05-06T14:21:00Z",
            "action": "rollback",
            "result": "ok",
            "slot": "a",
            "from_version": "1.2.0",
            "to_version": "1.0.0",
            "reason": "health check failed: agents: agent sensor crashed",
        },
        {
            "time": "2026-05-06T14:20:00Z",
            "action": "update",
            "result": "ok",
            "slot": "b",
            "from_version": "1.0.0",
            "to_version": "1.2.0",
            "reason": "installed 1.2.0 into slot b; trial boot next",
        },
    ],
}


def ota_app(**kw: Any):
    return make_app({"ota": copy.deepcopy(OTA)}, **kw)


def panel_text(pilot: Any) -> str:
    return str(pilot.app.query_one(OtaPanel).render())


def test_ota_panel_snapshot(snap_compare) -> None:
    app, _ = ota_app()
    assert snap_compare(app, terminal_size=(100, 40))


def test_ota_panel_progress_snapshot(snap_compare) -> None:
    app, api = ota_app()

    async def run_before(pilot) -> None:
        await pilot.pause()
        api.push(
            Notification(
                "ota.progress",
                {"phase": "download", "percent": 42, "message": "100/238 KiB", "active": True},
            )
        )
        await until(pilot, lambda: "42%" in panel_text(pilot))

    assert snap_compare(app, terminal_size=(100, 40), run_before=run_before)


async def test_panel_shows_slots_reason_and_history() -> None:
    app, _ = ota_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        text = str(app.query_one(OtaPanel).render())
    assert "Slot A (booted, primary)" in text and "Slot B" in text
    assert "1.3.0 available" in text
    assert "1.2.0 rolled back to 1.0.0" in text
    assert "rollback" in text and "1.2.0→1.0.0" in text
    assert "Validate  golden 12/12 -> 11/12, p95 31 -> 33 ms  (1.0.0→1.2.0)" in text


async def test_check_is_not_mutating_and_works_readonly() -> None:
    app, api = ota_app(readonly=True)
    api.results["ota.check"] = {"available": True, "message": "1.3.0 is available"}
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("u")
        await until(pilot, lambda: api.calls)
        await pilot.press("i")  # hidden in read-only mode
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
    assert [c[0] for c in api.calls] == ["ota.check"]


async def test_apply_asks_then_calls() -> None:
    app, api = ota_app()
    api.results["ota.apply"] = {"version": "1.3.0", "slot": "b", "restarting": True}
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert api.calls == []  # waiting for the confirmation
        await pilot.press("y")
        await until(pilot, lambda: api.calls)
    assert api.calls == [("ota.apply", {})]


async def test_rollback_cancelled_does_nothing_and_commit_calls() -> None:
    app, api = ota_app()
    api.results["ota.commit"] = {"committed": True, "message": "committed"}
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: api.calls)
    assert [c[0] for c in api.calls] == ["ota.commit"]


async def test_progress_note_draws_a_bar() -> None:
    app, api = ota_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        api.push(
            Notification(
                "ota.progress",
                {"phase": "extract", "percent": 50, "message": "unpacking", "active": True},
            )
        )
        await until(pilot, lambda: "50% extract: unpacking" in panel_text(pilot))
