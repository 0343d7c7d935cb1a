"""The durable outbox against real SQLite files: ids, seqs, bounds, policies, TTL,
priority, disk full, corrupt files, export."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from edgetui.config import StoreConfig
from edgetui.store.outbox import Outbox, OutboxFull, StoreError


async def open_outbox(path: Path, **kw) -> Outbox:
    clock = kw.pop("clock", None)
    page_limit = kw.pop("page_limit", None)
    extra = {"clock": clock} if clock else {}
    ob = Outbox(StoreConfig(**kw), path, page_limit=page_limit, maintenance_s=3600, **extra)
    await ob.start()
    return ob


async def all_rows(ob: Outbox) -> list:
    return await ob.fetch(10**6)


async def test_ids_unique_and_seq_consecutive_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    r1 = await ob.enqueue("telemetry", {"a": 1})
    many = await ob.enqueue_many([("log", {"i": i}) for i in range(5)])
    await ob.stop()
    ob = await open_outbox(db)
    r2 = await ob.enqueue("event", {"b": 2})
    seqs = [r1.seq, *(r.seq for r in many), r2.seq]
    assert seqs == list(range(1, 8))
    rows = await all_rows(ob)
    assert len({r.id for r in rows}) == 7
    # The wire JSON carries id and seq in front of the payload.
    wire = {r.seq: json.loads(r.wire) for r in rows}
    assert wire[7] == {"id": r2.id, "seq": 7, "b": 2}
    await ob.stop()


async def test_seq_keeps_growing_after_the_queue_was_emptied(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    rs = await ob.enqueue_many([("log", {"i": i}) for i in range(3)])
    assert await ob.delete([r.seq for r in rs]) == 3
    assert ob.queued() == 0
    await ob.stop()
    ob = await open_outbox(db)
    assert (await ob.enqueue("log", {"i": 9})).seq == 4
    assert ob.stats.sent == 3  # persisted across the restart
    await ob.stop()


async def test_payload_id_is_kept_and_a_duplicate_gets_a_fresh_one(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    a = await ob.enqueue("event", {"id": "evt-1", "type": "MOTION_DETECTED"})
    b = await ob.enqueue("event", {"id": "evt-1", "type": "MOTION_DETECTED"})
    assert a.id == "evt-1" and b.id != "evt-1" and b.seq == a.seq + 1
    await ob.stop()


async def test_drain_order_is_class_then_seq(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    for kind in ("log", "telemetry", "alert", "event", "log", "alert", "telemetry", "event"):
        await ob.enqueue(kind, {"k": kind})
    rows = await all_rows(ob)
    assert [(r.kind, r.seq) for r in rows] == [
        ("alert", 3),
        ("alert", 6),
        ("event", 4),
        ("event", 8),
        ("telemetry", 2),
        ("telemetry", 7),
        ("log", 1),
        ("log", 5),
    ]
    # Batched reads continue after a cursor.
    first = await ob.fetch(3)
    rest = await ob.fetch(10, after=(first[-1].prio, first[-1].seq))
    assert [r.seq for r in first + rest] == [r.seq for r in rows]
    await ob.stop()


async def test_drop_oldest_drops_the_lowest_class_first(tmp_path: Path, caplog) -> None:
    ob = await open_outbox(tmp_path / "o.db", max_messages=4, on_full="drop_oldest")
    await ob.enqueue("alert", {"n": 1})
    await ob.enqueue("log", {"n": 2})
    await ob.enqueue("telemetry", {"n": 3})
    await ob.enqueue("log", {"n": 4})
    with caplog.at_level(logging.WARNING, logger="edgetui.store"):
        await ob.enqueue("event", {"n": 5})  # full: the oldest log goes
        await ob.enqueue("event", {"n": 6})  # full: the other log goes
        await ob.enqueue("event", {"n": 7})  # full: then the telemetry
    assert [r.seq for r in await all_rows(ob)] == [1, 5, 6, 7]
    assert ob.stats.dropped == 3
    assert "dropped" in caplog.text and "drop_oldest" in caplog.text
    await ob.stop()
    ob = await open_outbox(tmp_path / "o.db", max_messages=4)
    assert ob.stats.dropped == 3  # counted durably
    await ob.stop()


async def test_drop_oldest_never_drops_a_higher_class(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db", max_messages=2, on_full="drop_oldest")
    await ob.enqueue("alert", {"n": 1})
    await ob.enqueue("alert", {"n": 2})
    with pytest.raises(OutboxFull, match="higher-priority"):
        await ob.enqueue("log", {"n": 3})
    assert [r.kind for r in await all_rows(ob)] == ["alert", "alert"]
    assert ob.stats.dropped == 1  # the new log message itself, counted
    await ob.enqueue("alert", {"n": 4})  # same class: the oldest alert goes
    assert [r.seq for r in await all_rows(ob)] == [2, 3]  # a refused message takes no seq
    await ob.stop()


async def test_drop_oldest_by_bytes(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db", max_bytes=100, on_full="drop_oldest")
    for i in range(3):
        await ob.enqueue("telemetry", {"pad": "x" * 30, "i": i})  # 40 bytes each
    assert ob.stats.queued == 2 and ob.stats.queued_bytes <= 100
    assert ob.stats.dropped == 1
    assert [json.loads(r.wire)["i"] for r in await all_rows(ob)] == [1, 2]
    await ob.stop()


async def test_reject_new_refuses_counts_and_logs(tmp_path: Path, caplog) -> None:
    ob = await open_outbox(tmp_path / "o.db", max_messages=2, on_full="reject_new")
    await ob.enqueue("log", {"n": 1})
    await ob.enqueue("log", {"n": 2})
    with caplog.at_level(logging.WARNING, logger="edgetui.store"), pytest.raises(OutboxFull):
        await ob.enqueue("alert", {"n": 3})
    assert "rejected" in caplog.text
    assert [r.seq for r in await all_rows(ob)] == [1, 2]
    assert ob.stats.rejected == 1
    # The refused message took no seq: the next one follows without a gap.
    await ob.delete([1])
    assert (await ob.enqueue("alert", {"n": 4})).seq == 3
    await ob.stop()


async def test_reject_new_by_bytes_and_oversized_message(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db", max_bytes=60, on_full="reject_new")
    await ob.enqueue("log", {"pad": "x" * 30})
    with pytest.raises(OutboxFull):
        await ob.enqueue("log", {"pad": "y" * 30})
    with pytest.raises(OutboxFull, match="larger than"):
        await ob.enqueue("alert", {"pad": "z" * 100})
    assert ob.stats.queued == 1 and ob.stats.rejected == 2
    await ob.stop()


async def test_ttl_expires_old_rows_and_counts_them(tmp_path: Path) -> None:
    now = [1_000_000.0]
    ob = await open_outbox(tmp_path / "o.db", ttl_s=60.0, clock=lambda: now[0])
    await ob.enqueue("telemetry", {"old": 1})
    now[0] += 30
    await ob.enqueue("telemetry", {"newer": 1})
    now[0] += 40  # first row is 70 s old, second 40 s
    assert await ob.expire() == 1
    assert [json.loads(r.wire).get("newer") for r in await all_rows(ob)] == [1]
    assert ob.stats.expired == 1
    await ob.stop()


async def test_unknown_kind_and_bad_payload_are_refused(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    with pytest.raises(StoreError, match="unknown message kind"):
        await ob.enqueue("metrics", {})
    with pytest.raises(StoreError, match="JSON object"):
        await ob.enqueue("log", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert ob.queued() == 0
    await ob.stop()


async def test_disk_full_raises_store_error_and_keeps_stored_rows(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    pages = (await ob._db.execute_fetchall("PRAGMA page_count"))[0][0]
    await ob.stop()
    ob = await open_outbox(db, page_limit=pages + 3)
    kept = []
    with pytest.raises(StoreError, match="outbox storage full") as err:
        for i in range(1000):
            kept.append((await ob.enqueue("telemetry", {"pad": "x" * 1000, "i": i})).seq)
    assert "queued messages kept" in str(err.value)
    assert kept, "some rows fit before the limit"
    assert ob.stats.store_errors == 1 and "full" in ob.stats.last_store_error
    # Still usable: deleting frees room and enqueue works again; stored rows are intact.
    assert [r.seq for r in await all_rows(ob)] == kept
    await ob.delete(kept[:2])
    alert = await ob.enqueue("alert", {"small": True})
    await ob.stop()
    ob = await open_outbox(db)
    assert [r.seq for r in await all_rows(ob)] == [alert.seq, *kept[2:]]
    await ob.stop()


async def test_corrupt_database_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog
) -> None:
    db = tmp_path / "edgetui.db"
    garbage = b"this is not a database at all " * 200
    db.write_bytes(garbage)
    with caplog.at_level(logging.ERROR, logger="edgetui.store.schema"):
        ob = await open_outbox(db)
    moved = list(tmp_path.glob("edgetui.db.corrupt-*"))  # noqa: ASYNC240
    assert len(moved) == 1 and moved[0].read_bytes() == garbage  # kept, not deleted
    assert ob.stats.moved_aside == str(moved[0])
    assert "corrupt" in caplog.text and "moved aside" in caplog.text
    assert (await ob.enqueue("alert", {"ok": True})).seq == 1
    await ob.stop()


async def test_damaged_pages_are_detected_at_start(tmp_path: Path, caplog) -> None:
    db = tmp_path / "edgetui.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("log", {"pad": "x" * 500, "i": i}) for i in range(200)])
    await ob.stop()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db.read_bytes())
    page = 4096
    for p in range(2, len(data) // page):  # scribble over every page but the header's
        data[p * page : p * page + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="edgetui.store.schema"):
        ob = await open_outbox(db)
    assert ob.stats.moved_aside and Path(ob.stats.moved_aside).exists()  # noqa: ASYNC240
    assert ob.queued() == 0
    await ob.stop()


async def test_export_writes_ndjson_and_keeps_or_removes(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    await ob.enqueue("telemetry", {"t": 1})
    await ob.enqueue("alert", {"a": 1})
    out = tmp_path / "usb" / "backlog.ndjson"
    res = await ob.export(out)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert res["messages"] == 2 and res["removed"] == 0 and ob.queued() == 2
    assert [(x["kind"], x["seq"], x["message"]["seq"]) for x in lines] == [
        ("alert", 2, 2),
        ("telemetry", 1, 1),
    ]
    assert lines[0]["message"] == {"id": lines[0]["id"], "seq": 2, "a": 1}
    res = await ob.export(out, remove=True)
    assert res["removed"] == 2 and ob.queued() == 0
    assert len(out.read_text().splitlines()) == 2
    await ob.stop()


async def test_a_write_failure_at_open_is_not_taken_for_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the schema is prepared: the start fails with a StoreError and the
    database stays where it is, with its rows (a corrupt file would be moved aside)."""
    import edgetui.store.schema as schema

    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("alert", {"i": i}) for i in range(3)])
    await ob.stop()

    async def full(_db: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(schema, "_retire_acked_table", full)
    ob = Outbox(StoreConfig(), db, maintenance_s=3600)
    with pytest.raises(StoreError, match="disk is full"):
        await ob.start()
    await ob.stop()
    assert not list(tmp_path.glob("o.db.corrupt-*"))  # noqa: ASYNC240
    monkeypatch.undo()
    ob = await open_outbox(db)
    assert ob.queued() == 3
    await ob.stop()
