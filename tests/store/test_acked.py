"""Acknowledged rows: journaled with one write, skipped by the drain at once, deleted from
the table in bulk later; a crash in between leaves the journal for the next start, and
every other way out of the queue applies the journal first."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from pathlib import Path

import pytest

from edgetui.models.ids import new_id
from edgetui.store.ack_journal import journal_path, read_journal
from edgetui.store.schema import PRIORITY, instance_of
from tests.store.test_outbox import all_rows, open_outbox


def table_seqs(path: Path) -> list[int]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT seq FROM outbox ORDER BY seq")]
    finally:
        con.close()


def replace_database(new: Path, db: Path) -> None:
    """`new` takes the place of `db`; the journal beside `db` stays."""
    for side in ("", "-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
        if Path(f"{new}{side}").exists():
            Path(f"{new}{side}").rename(f"{db}{side}")


def tear_journal(db: Path, seq: int) -> None:
    with open(journal_path(db), "ab") as fh:
        fh.write(seq.to_bytes(8, "little")[:5])  # a write cut short by the kill


async def record(ob, seqs: list[int]) -> None:
    """What the uplink's drain does on PUBACKs."""
    assert await asyncio.to_thread(ob.record_acked_blocking, seqs) == []


async def apply(ob) -> list[tuple[int, int]]:
    return await asyncio.to_thread(ob.apply_acked_blocking)


async def journaled(ob, db: Path) -> list[int]:
    return read_journal(journal_path(db), await instance_of(ob._db))


async def test_journaled_rows_are_skipped_then_deleted_in_bulk(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("telemetry", {"i": i}) for i in range(6)])
    await record(ob, [1, 2])
    await record(ob, [3])
    assert await journaled(ob, db) == [1, 2, 3]
    assert table_seqs(db) == [1, 2, 3, 4, 5, 6]  # still in the table...
    assert [ob.is_acked(s) for s in (1, 3, 4)] == [True, True, False]  # ...not to be resent
    removed = await apply(ob)
    assert len(removed) == 3 and all(prio == PRIORITY["telemetry"] for prio, _ in removed)
    assert table_seqs(db) == [4, 5, 6] and await journaled(ob, db) == []
    assert not ob.is_acked(1) and await apply(ob) == []  # nothing left: nothing booked twice
    assert ob.account_sent(removed) == 3 and ob.stats.queued == 3 and ob.stats.sent == 3
    await ob.stop()


async def test_a_journal_left_by_a_crash_is_applied_at_start(tmp_path: Path, caplog) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("event", {"i": i}) for i in range(4)])
    await record(ob, [1, 2])
    ob._unapplied.clear()  # as after a SIGKILL: journaled, never applied (stop() applies)
    await ob.stop()
    assert table_seqs(db) == [1, 2, 3, 4]
    with caplog.at_level(logging.INFO, logger="edgetui.store"):
        ob = await open_outbox(db)
    assert "removed 2 message(s) acknowledged before the last stop" in caplog.text
    assert ob.stats.queued == 2 and [r.seq for r in await all_rows(ob)] == [3, 4]
    assert ob.stats.sent == 2  # counted once, as sent
    assert table_seqs(db) == [3, 4] and await journaled(ob, db) == []
    await ob.stop()


async def test_a_clean_stop_applies_the_journal(tmp_path: Path, caplog) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("log", {"i": i}) for i in range(3)])
    await record(ob, [1])
    await ob.stop()
    assert table_seqs(db) == [2, 3]
    with caplog.at_level(logging.INFO, logger="edgetui.store"):
        ob = await open_outbox(db)
    assert "acknowledged before the last stop" not in caplog.text
    assert ob.stats.sent == 1 and ob.stats.queued == 2
    await ob.stop()


async def test_a_journal_of_another_database_is_ignored(tmp_path: Path, caplog) -> None:
    """The database was replaced (restored, or deleted by hand) but its journal stayed: the
    new database's seqs start at 1 again, and the old journal must not delete them."""
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("alert", {"i": i}) for i in range(3)])
    await record(ob, [1, 2])
    ob._unapplied.clear()  # killed: the journal holds seqs 1 and 2
    await ob.stop()
    other = tmp_path / "other" / "o.db"
    ob = await open_outbox(other)
    await ob.enqueue_many([("alert", {"i": i}) for i in range(3)])  # seqs 1..3 again
    await ob.stop()
    replace_database(other, db)
    with caplog.at_level(logging.WARNING, logger="edgetui.store"):
        ob = await open_outbox(db)
    assert "belongs to another database" in caplog.text
    assert ob.stats.queued == 3 and table_seqs(db) == [1, 2, 3]
    await ob.stop()


async def test_a_torn_journal_record_is_skipped(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("log", {"i": i}) for i in range(3)])
    await record(ob, [1])
    ob._unapplied.clear()
    await ob.stop()
    tear_journal(db, 2)
    ob = await open_outbox(db)
    assert table_seqs(db) == [2, 3] and ob.stats.queued == 2
    await ob.stop()


async def test_without_a_journal_acknowledgements_are_deleted_at_once(
    tmp_path: Path, caplog
) -> None:
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("log", {"i": i}) for i in range(3)])
    ob._journal.close()  # writes now fail (EBADF), as on a broken disk
    ob._journal._fd = 10**6
    with caplog.at_level(logging.WARNING, logger="edgetui.store"):
        removed = await asyncio.to_thread(ob.record_acked_blocking, [1, 2])
    assert len(removed) == 2 and table_seqs(db) == [3]
    assert "cannot journal acknowledgements" in caplog.text
    ob._journal._fd = None
    await ob.stop()


async def test_expiry_drops_and_export_apply_the_journal_first(tmp_path: Path) -> None:
    now = [1000.0]
    db = tmp_path / "o.db"
    ob = await open_outbox(
        db, ttl_s=60, max_messages=4, on_full="drop_oldest", clock=lambda: now[0]
    )
    await ob.enqueue_many([("log", {"i": i}) for i in range(4)])
    await record(ob, [1, 2])  # acknowledged, not yet deleted
    # the full outbox makes room with the acknowledged rows before dropping any
    await ob.enqueue_many([("log", {"i": 10 + i}) for i in range(2)])
    assert ob.stats.dropped == 0 and ob.stats.sent == 2
    assert [r.seq for r in await all_rows(ob)] == [3, 4, 5, 6]
    await record(ob, [3])
    await ob.enqueue_many([("log", {"i": 20 + i}) for i in range(2)])
    assert ob.stats.sent == 3 and ob.stats.dropped == 1  # 3 left + 2 new over 4: one goes
    assert [r.seq for r in await all_rows(ob)] == [5, 6, 7, 8]
    # expiry: an acknowledged row is sent, not expired
    await record(ob, [5])
    now[0] += 120
    assert await ob.expire() == 3
    assert ob.stats.expired == 3 and ob.stats.sent == 4 and ob.stats.queued == 0
    # export never writes an acknowledged row
    await ob.enqueue_many([("alert", {"x": 1}), ("alert", {"x": 2})])
    await record(ob, [9])
    out = tmp_path / "backlog.ndjson"
    result = await ob.export(str(out), remove=True)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [m["seq"] for m in lines] == [10] and result["removed"] == 1
    assert ob.stats.sent == 5 and ob.stats.queued == 0
    await ob.stop()


async def test_a_row_gone_before_its_acknowledgement_is_not_booked(tmp_path: Path) -> None:
    now = [1000.0]
    ob = await open_outbox(tmp_path / "o.db", ttl_s=60, clock=lambda: now[0])
    await ob.enqueue_many([("telemetry", {"i": i}) for i in range(3)])
    now[0] += 120
    assert await ob.expire() == 3  # expired while "in flight"
    await record(ob, [1, 2, 3])  # the late PUBACKs...
    assert await apply(ob) == []  # ...book nothing
    await ob.stop()


async def test_marks_of_schema_2_leave_at_start(tmp_path: Path, caplog) -> None:
    """A database from before the journal: rows marked in `outbox_acked` are deleted and
    the table dropped."""
    db = tmp_path / "o.db"
    ob = await open_outbox(db)
    await ob.enqueue_many([("event", {"i": i}) for i in range(3)])
    await ob.stop()
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE outbox_acked (seq INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO outbox_acked VALUES (1), (2)")
    con.commit()
    con.close()
    with caplog.at_level(logging.WARNING, logger="edgetui.store"):
        ob = await open_outbox(db)
    assert "removed 2 message(s) acknowledged before the last stop" in caplog.text
    assert table_seqs(db) == [3] and ob.stats.queued == 1
    con = sqlite3.connect(db)
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox_acked'").fetchall()
    con.close()
    await ob.stop()


async def test_rows_are_booked_even_if_the_settling_task_is_cancelled(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    await ob.enqueue_many([("event", {"i": i}) for i in range(4)])
    await record(ob, [1, 2])
    task = asyncio.create_task(ob.settle_acked())
    await asyncio.sleep(0)  # the delete is under way in its thread
    task.cancel()
    for _ in range(200):
        if ob.stats.sent == 2:
            break
        await asyncio.sleep(0.01)
    assert ob.stats.sent == 2 and ob.stats.queued == 2 and ob.queued() == 2
    await ob.stop()


def test_a_failed_append_leaves_the_journal_whole(tmp_path: Path, monkeypatch) -> None:
    """A short write (a full disk) is cut back off: a torn record would shift every
    record after it and name other rows."""
    import edgetui.store.ack_journal as aj

    journal = aj.AckJournal(tmp_path / "j", instance=7)
    journal.open()
    journal.append([1])
    real_write = aj.os.write

    def short_write(fd: int, data: bytes) -> int:
        return real_write(fd, data[:5])

    monkeypatch.setattr(aj.os, "write", short_write)
    with pytest.raises(OSError, match="short write"):
        journal.append([2, 3])
    monkeypatch.setattr(aj.os, "write", real_write)
    journal.append([4])
    journal.close()
    assert read_journal(tmp_path / "j", 7) == [1, 4]


async def test_without_a_journal_file_the_outbox_still_runs(tmp_path: Path, caplog) -> None:
    db = tmp_path / "o.db"
    journal_path(db).mkdir()  # cannot be opened as a file
    with caplog.at_level(logging.WARNING, logger="edgetui.store"):
        ob = await open_outbox(db)
    assert "no acknowledgement journal" in caplog.text
    await ob.enqueue_many([("log", {"i": i}) for i in range(3)])
    removed = await asyncio.to_thread(ob.record_acked_blocking, [1, 2])
    assert len(removed) == 2 and table_seqs(db) == [3]  # deleted at once instead
    await ob.stop()


async def test_batches_continue_after_a_cursor_across_classes(tmp_path: Path) -> None:
    ob = await open_outbox(tmp_path / "o.db")
    kinds = ["log", "alert", "telemetry", "event"] * 5
    await ob.enqueue_many([(k, {"i": i}) for i, k in enumerate(kinds)])
    seen = []
    after = (-1, 0)
    while batch := await ob.fetch(3, after):
        seen += [(r.prio, r.seq) for r in batch]
        after = (batch[-1].prio, batch[-1].seq)
    assert seen == sorted(seen) and len(seen) == 20
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
