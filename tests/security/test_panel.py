"""The dashboard and security: the Security panel, the role in the header, actions the role
may not call hidden (as --readonly hides them), and wrong kiosk PINs reported."""

from __future__ import annotations

import copy
from typing import Any

from edgetui.tui.header import StatusHeader
from edgetui.tui.panels.security import SecurityPanel
from tests.ota.test_panel import OTA
from tests.support.fake_api import FakeAPI, fixed_snapshot
from tests.support.ui import make_app, until

SECURITY = {
    "events": [
        {
            "kind": "refused_call",
            "message": "ota.apply needs the operator role; nobody (uid 65534) has the viewer role",
            "time": "2026-05-06T14:29:50.000Z",
            "who": {"uid": 65534, "user": "nobody", "via": "cli"},
            "data": {"method": "ota.apply", "needed_role": "operator"},
        },
        {
            "kind": "wrong_pin",
            "message": "wrong kiosk PIN (attempt 1)",
            "time": "2026-05-06T14:20:00.000Z",
            "who": {"uid": 1001, "user": "kiosk", "via": "kiosk"},
            "data": {},
        },
    ],
    "counts": {
        "refused_call": 1,
        "bad_signature": 0,
        "wrong_pin": 1,
        "slot_tampered": 0,
        "audit_chain_broken": 0,
    },
    "total": 2,
    "checks": {
        "slot": {"slot": "a", "ok": True, "time": "2026-05-06T14:00:00.000Z"},
        "audit": {"ok": True, "records": 12, "problem": None, "time": "2026-05-06T14:00:01.000Z"},
    },
    "audit": {
        "path": "/var/lib/edgetui/audit/audit.log",
        "records": 12,
        "appended": 3,
        "signed_seq": 10,
        "signed_at": "2026-05-06T14:25:00.000Z",
        "key_id": "d3e12335f65b4159",
        "errors": 0,
        "uplink_errors": 0,
        "last_error": None,
        "last": [
            {
                "seq": 12,
                "time": "2026-05-06T14:29:50.000Z",
                "user": "nobody",
                "via": "cli",
                "method": "ota.apply",
                "ok": False,
                "error": "ota.apply needs the operator role; nobody has the viewer role",
            },
            {
                "seq": 11,
                "time": "2026-05-06T14:29:58.000Z",
                "user": "ann",
                "via": "tui",
                "method": "buffer.flush",
                "ok": True,
                "error": None,
            },
        ],
    },
}
VIEWER = {
    "uid": 1002,
    "user": "ann",
    "role": "viewer",
    "via": "tui",
    "allowed": ["status", "ota.status", "ota.history", "buffer.stats"],
}
OPERATOR = {
    **VIEWER,
    "role": "operator",
    "allowed": [
        *VIEWER["allowed"],
        "ota.check",
        "ota.apply",
        "ota.rollback",
        "ota.commit",
        "buffer.flush",
        "buffer.retry",
        "bus.publish",
    ],
}


def security_app(whoami: dict[str, Any] | None = None, **kw: Any):
    sections = {"security": copy.deepcopy(SECURITY), "ota": copy.deepcopy(OTA)}
    api = FakeAPI(fixed_snapshot(sections=sections))
    if whoami is not None:
        api.results["access.whoami"] = whoami
    return make_app(api=api, **kw)


async def test_security_panel_shows_counts_checks_and_last_actions() -> None:
    app, _ = security_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        text = str(app.query_one(SecurityPanel).render())
        assert "refused 1" in text and "wrong PIN 1" in text and "slot tampered 0" in text
        assert "slot a matches" in text and "audit chain verifies" in text
        assert "12 records, head signed at 10 (14:25:00)" in text
        assert "nobody" in text and "ota.apply" in text and "buffer.flush" in text
        assert "refused: ota.apply needs the operator role" in text


async def test_viewer_role_in_header_and_its_actions_hidden() -> None:
    app, api = security_app(VIEWER)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        header = app.query_one(StatusHeader)
        assert header.role == "viewer" and "role viewer" in str(header.render())
        assert ("access.whoami", {"via": "tui"}) in api.calls
        for key in ("u", "i", "b", "g"):
            await pilot.press(key)
            await pilot.pause(0.1)
        assert [m for m, _ in api.calls] == ["access.whoami"]  # nothing else was called
        keys = dict(app.key_table())
        assert "i" not in keys and "u" not in keys and "q" in keys
        assert any("Role: viewer" in n for n in app.mode_notes())


async def test_operator_role_keeps_its_actions() -> None:
    app, api = security_app(OPERATOR)
    api.results["ota.check"] = {"available": False, "message": "up to date"}
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        keys = dict(app.key_table())
        assert keys.get("i") == "OTA apply" and keys.get("u") == "OTA check"
        await pilot.press("u")
        await until(pilot, lambda: ("ota.check", {}) in api.calls)


def test_security_panel_snapshot(snap_compare) -> None:
    app, _ = security_app(VIEWER)
    assert snap_compare(app, terminal_size=(120, 60))
