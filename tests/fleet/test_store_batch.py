"""PostgreSQL's set-based alert, command and audit statements (store/bulk.py) leave exactly
what SQLite's row-by-row statements leave, on the same updates: duplicates within a batch,
ties, updates older than the stored row, exact re-deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgetui.fleet.messages import Update
from edgetui.fleet.records import CommandRecord
from edgetui.fleet.store import FleetStore, open_store
from edgetui.fleet.store.sql import ALERT, ALERT_COUNTS, AUDIT, COMMAND, SqlFleetStore
from tests.fleet.payloads import T0, alert, result, status, updates


@pytest.fixture
def both(tmp_path: Path, postgres_url: str) -> Iterator[tuple[FleetStore, FleetStore]]:
    """A SQLite store and a PostgreSQL store, both empty."""
    lite = open_store(str(tmp_path / "fleet.db"), tmp_path)
    pg = open_store(postgres_url, tmp_path)
    assert (lite.engine, pg.engine) == ("sqlite", "postgresql")
    try:
        yield lite, pg
    finally:
        lite.close()
        pg.close()


def dump(store: FleetStore) -> dict[str, Any]:
    """Everything the three statements write, in a comparable order."""
    assert isinstance(store, SqlFleetStore)
    return {
        "alerts": store._rows("SELECT * FROM alerts ORDER BY device_id, alert_key"),
        "commands": store._rows("SELECT * FROM commands ORDER BY device_id, command_id"),
        "audit": store._rows("SELECT * FROM audit ORDER BY device_id, received, body"),
        "counts": store._rows(
            "SELECT device_id, alerts_critical, alerts_warning FROM devices ORDER BY device_id"
        ),
    }


def audit(dev: str, seq: int) -> tuple[str, bytes]:
    return f"devices/{dev}/audit", json.dumps({"seq": seq, "event": "login"}).encode()


def batches() -> list[tuple[list[Update], float]]:
    """(updates, now) in order: first writes, in-batch duplicates, older and resent ones."""
    first = updates(
        alert("cam-1", "cpu", "pending", "warning", T0),
        alert("cam-1", "cpu", "firing", "warning", T0 + 2),  # in-batch: the newer wins
        alert("cam-1", "cpu", "resolved", "warning", T0 + 1),  # older than the one above
        alert("cam-1", "disk", "firing", "critical", T0 + 1),
        alert("cam-1", "disk", "firing", "warning", T0 + 1),  # a tie: the later one wins
        alert("cam-2", "mem", "firing", "critical", T0, agent="llm"),
        result("cam-1", "c1", "QUEUED", T0, command="ota.apply"),
        result("cam-1", "c1", "IN_PROGRESS", T0 + 1),
        result("cam-1", "c1", "QUEUED", T0),  # a resend inside the batch
        result("cam-2", "c2", "REJECTED", T0, reason="expired", command="ota.check"),
        audit("cam-1", 1),
        audit("cam-1", 1),  # the same delivery twice in one batch
        audit("cam-1", 2),
        status("cam-3", "online"),
    )
    later = updates(
        alert("cam-1", "cpu", "pending", "warning", T0 + 1),  # older than the stored row
        alert("cam-1", "disk", "resolved", "critical", T0 + 5),
        alert("cam-2", "mem", "firing", "critical", T0, agent="llm"),  # same time: rewritten
        result("cam-1", "c1", "SUCCEEDED", T0 + 9),
        result("cam-2", "c2", "QUEUED", T0 - 5),  # older than stored
        audit("cam-1", 3),
        received=T0 + 5,
    )
    # the first batch written again as it was (the spool replayed after a crash)
    return [(first, T0), (later, T0 + 5), (first, T0 + 6)]


def test_batched_statements_store_what_row_by_row_stores(
    both: tuple[FleetStore, FleetStore],
) -> None:
    lite, pg = both
    for store in both:
        store.record_command(CommandRecord("c3", "cam-1", "ota.rollback", None, None, "r1", T0, T0))
        for batch, now in batches():
            store.apply(batch, writer="w", now=now)
    got = dump(pg)
    assert got == dump(lite)
    # and what that is, spelled out once
    alerts = {(r[0], r[1]): (r[3], r[4], r[9]) for r in got["alerts"]}
    assert alerts[("cam-1", "cpu")] == ("firing", "warning", T0 + 2)
    assert alerts[("cam-1", "disk")] == ("resolved", "critical", T0 + 5)
    cmds = {r[0]: (r[3], r[5]) for r in got["commands"]}
    assert cmds == {"c1": ("SUCCEEDED", None), "c2": ("REJECTED", None), "c3": (None, "r1")}
    assert [json.loads(r[2])["seq"] for r in got["audit"]] == [1, 2, 3]  # no duplicate
    assert ("cam-2", 1, 0) in got["counts"]


def test_raw_rows_with_duplicates_match_executemany(
    both: tuple[FleetStore, FleetStore],
) -> None:
    """The set-based statements coalesce rows sharing a key themselves (what apply()
    already does before them), the way executing them one by one would have left them."""
    alert_rows = [
        ("d", "k", "n", "pending", "warning", 1.0, "s", "{}", None, T0),
        ("d", "k", "n", "firing", "warning", 2.0, "s", "{}", None, T0 + 1),
        ("d", "k", "n", "resolved", "warning", 3.0, "s", "{}", None, T0),  # older: ignored
        ("d", "k", "n", "firing", "critical", 4.0, "s", "{}", None, T0 + 1),  # tie: wins
        ("d", "j", "n", "firing", "warning", 5.0, "s", "{}", None, None),  # no time
        ("d", "j", "n", "pending", "warning", 6.0, "s", "{}", None, T0),  # beats NULL
        ("d", "j", "n", "firing", "warning", 7.0, "s", "{}", None, None),  # NULL loses
    ]
    command_rows = [
        ("c", "d", "ota.apply", "QUEUED", None, "r1", T0, T0),
        ("c", "d", None, "IN_PROGRESS", "x", "r2", None, T0 + 1),  # keeps name, rollout
        ("c", "d", "other", "QUEUED", None, None, None, T0),  # older: ignored
        ("e", "d", None, "SUCCEEDED", None, None, None, None),
        ("e", "d", "ota.check", "FAILED", "y", None, T0, T0),
    ]
    audit_rows = [("d", T0, "{}"), ("d", T0, "{}"), ("d", T0 + 1, "{}"), ("e", T0, "{}")]
    for store in both:
        assert isinstance(store, SqlFleetStore)
        store.apply(updates(status("d", "online")), now=T0)
        for rows in (alert_rows, command_rows, audit_rows):
            for k in range(len(rows)):  # every prefix as one batch, then all of it again
                with store._tx() as cur:
                    sql = {10: ALERT, 8: COMMAND, 3: AUDIT}[len(rows[0])]
                    params = rows[: k + 1] if sql != AUDIT else [r * 2 for r in rows[: k + 1]]
                    store._many(cur, sql, params)
                    store._many(cur, ALERT_COUNTS, [("d",), ("d",)])
    lite, pg = both
    assert dump(pg) == dump(lite)
    assert len(dump(pg)["audit"]) == 3
