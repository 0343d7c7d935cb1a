"""Acknowledged rows: marked in one commit, gone from the queue at once, deleted from the
table in bulk later; every other way out of the queue leaves them alone."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from pathlib import Path

from edgetui.models.ids import new_id
from tests.store.test_outbox import all_rows, open_outbox


def table_seqs(path: Path, table: str = "outbox") -> list[int]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute(f"SELECT seq FROM {table} ORDER BY seq")]
    finally:
        con.close()


async def mark(ob, seqs: list[int]) -> list[int]:
    """What the uplink's drain does on PUBACKs (it books the marked rows itself)."""
    return await asyncio.to_thread(ob.mark_acked_blocking, seqs)


async def test_marked_rows_leave_the_queue_and_the_table_at_compaction(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("telemetry", {"i": i}) for i in range(6)])
    assert await mark(ob, [1, 2, 3]) == [1, 2, 3]
    assert [r.seq for r in await all_rows(ob)] == [4, 5, 6]  # skipped at once
    assert table_seqs(db) == [1, 2, 3, 4, 5, 6]  # still in the table
    assert await mark(ob, [3, 99]) == []  # already marked / never queued: not booked twice
    assert await asyncio.to_thread(ob.compact_acked_blocking) == 3
    assert table_seqs(db) == [4, 5, 6] and table_seqs(db, "outbox_acked") == []
    await ob.stop()


async def test_marks_left_by_a_crash_are_compacted_at_start(tmp_path: Path, caplog) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("event", {"i": i}) for i in range(4)])
    await mark(ob, [1, 2])
    await ob.stop()  # as after a SIGKILL: marked, never compacted
    assert table_seqs(db, "outbox_acked") == [1, 2]
    with caplog.at_level(logging.INFO, logger="edgetui.store"):
        ob = await open_outbox(db)
    assert "removed 2 message(s) acknowledged before the last stop" in caplog.text
    assert ob.stats.queued == 2 and [r.seq for r in await all_rows(ob)] == [3, 4]
    assert table_seqs(db) == [3, 4]
    await ob.stop()


async def test_counts_at_start_skip_marks_that_could_not_be_compacted(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("log", {"i": i}) for i in range(5)])
    await mark(ob, [1, 2, 3])
    await ob.stop()
    ob = await open_outbox(db)
    await ob._compact_leftovers()  # nothing left to do: idempotent
    assert ob.stats.queued == 2 and ob.stats.by_class["log"] == 2
    await ob.stop()


async def test_expiry_drops_and_export_leave_acknowledged_rows_alone(tmp_path: Path) -> None:
    now = [1000.0]
    db = tmp_path / "o.db"
    ob = await open_outbox(
        db, ttl_s=60, max_messages=4, on_full="drop_oldest", clock=lambda: now[0]
    )
    await ob.enqueue_many([("log", {"i": i}) for i in range(4)])
    first_two = (await all_rows(ob))[:2]
    assert await mark(ob, [1, 2]) == [1, 2]  # acknowledged, not yet compacted
    ob.account_sent([(r.prio, r.size) for r in first_two])  # as the drain books them
    assert ob.stats.queued == 2 and ob.stats.sent == 2
    # drop_oldest picks its victims among queued rows only
    await ob.enqueue_many([("log", {"i": 10 + i}) for i in range(3)])
    assert ob.stats.dropped == 1  # 2 queued + 3 new over a bound of 4: one queued row goes
    assert [r.seq for r in await all_rows(ob)] == [4, 5, 6, 7]
    # expiry counts only queued rows
    now[0] += 120
    assert await ob.expire() == 4
    assert ob.stats.expired == 4 and ob.stats.queued == 0
    # export never writes an acknowledged row
    await ob.enqueue("alert", {"x": 1})
    out = tmp_path / "backlog.ndjson"
    result = await ob.export(str(out), remove=True)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [m["seq"] for m in lines] == [8] and result["removed"] == 1
    await ob.stop()


async def test_a_row_gone_before_its_acknowledgement_is_not_marked(tmp_path: Path) -> None:
    now = [1000.0]
    ob = await open_outbox(tmp_path / "o.db", ttl_s=60, clock=lambda: now[0])
    await ob.enqueue_many([("telemetry", {"i": i}) for i in range(3)])
    now[0] += 120
    assert await ob.expire() == 3  # expired while "in flight"
    assert await mark(ob, [1, 2, 3]) == []  # the late PUBACKs book nothing
    await ob.stop()


async def test_batches_continue_after_a_cursor_across_classes(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    kinds = ["log", "alert", "telemetry", "event"] * 5
    await ob.enqueue_many([(k, {"i": i}) for i, k in enumerate(kinds)])
    await mark(ob, [2, 6])  # two alerts acknowledged
    seen = []
    after = (-1, 0)
    while batch := await ob.fetch(3, after):
        seen += [(r.prio, r.seq) for r in batch]
        after = (batch[-1].prio, batch[-1].seq)
    assert seen == sorted(seen) and len(seen) == 18
    assert (0, 2) not in seen and (0, 6) not in seen
    await ob.stop()


async def test_wire_form_is_the_payload_with_id_and_seq_first(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    odd = 'quote" back\\slash ünïcode'
    await ob.enqueue("event", {"id": odd, "v": [1, 2]})
    await ob.enqueue("log", {})
    first, second = await all_rows(ob)
    assert first.wire.startswith(b'{"id":') and json.loads(first.wire) == {
        "id": odd,
        "seq": 1,
        "v": [1, 2],
    }
    assert json.loads(second.wire) == {"id": second.id, "seq": 2}
    await ob.stop()


def test_new_ids_are_time_ordered_uuids() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for i in ids[:20]:
        u = uuid.UUID(i)
        assert len(i) == 32 and u.version == 7 and u.variant == uuid.RFC_4122
    # the first 48 bits are Unix milliseconds: never decreasing
    stamps = [int(i[:12], 16) for i in ids]
    assert stamps == sorted(stamps)
