"""Encryption at rest: the outbox sealed under the device data key, on real SQLite files."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from edgetui.config import StoreConfig
from edgetui.sealing import DataKeyError, DataKeyring
from edgetui.sealing.cipher import SealError
from edgetui.store import Outbox, StoreError
from tests.security.helpers import MARKER, cipher_at, on_disk, sealed_outbox, table
from tests.store.test_outbox import open_outbox


async def test_rows_are_sealed_on_disk_and_drain_as_the_same_wire(tmp_path: Path) -> None:
    db, key = tmp_path / "o.db", tmp_path / "keys" / "outbox.key"
    ob = await sealed_outbox(db, key)
    one = await ob.enqueue("alert", {"text": MARKER})
    many = await ob.enqueue_many([("telemetry", {"i": i, "text": MARKER}) for i in range(50)])
    rows = await ob.fetch(100)
    assert [r.seq for r in rows] == [one.seq, *(r.seq for r in many)] == list(range(1, 52))
    assert json.loads(rows[0].wire) == {"id": one.id, "seq": 1, "text": MARKER}
    assert json.loads(rows[5].wire) == {"id": many[4].id, "seq": 6, "i": 4, "text": MARKER}
    await ob.stop()
    assert {t for _, _, t in table(db)} == {"blob"}
    assert MARKER.encode() not in on_disk(db)
    # The key file: 0600 in a 0700 directory, outside the database.
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    section = ob.stats
    assert section.encrypt and section.key_id == DataKeyring.load(key).current.id


async def test_a_payload_moved_to_another_row_does_not_open_and_nothing_is_deleted(
    tmp_path: Path,
) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await sealed_outbox(db, key)
    await ob.enqueue_many([("event", {"n": i}) for i in range(4)])
    await ob.stop()
    con = sqlite3.connect(db)
    con.execute("UPDATE outbox SET id = 'forged' WHERE seq = 4")  # the id is bound too
    # Replay row 1's sealed payload as row 3, and re-class row 2 (its kind is in the AAD).
    con.execute(
        "UPDATE outbox SET payload = (SELECT payload FROM outbox WHERE seq = 1) WHERE seq = 3"
    )
    con.execute("UPDATE outbox SET kind = 'alert', prio = 0 WHERE seq = 2")
    con.commit()
    con.close()
    ob = await sealed_outbox(db, key)
    rows = await ob.fetch(10)
    assert [r.seq for r in rows] == [1]  # only the untouched row opens
    assert ob.stats.unreadable == 3
    assert "seq 4 cannot be opened" in (ob.stats.last_unreadable or "")
    assert "does not authenticate" in (ob.stats.last_unreadable or "")
    assert ob.queued() == 4  # kept, not sent, not deleted
    await ob.stop()
    assert len(table(db)) == 4


async def test_turning_encryption_on_seals_an_existing_database_without_losing_a_row(
    tmp_path: Path,
) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await open_outbox(db)  # a device from before: clear rows
    receipts = await ob.enqueue_many(
        [(k, {"i": i, "text": MARKER}) for i, k in enumerate(["alert", "event", "log"] * 400)]
    )
    before = {r.seq: r.wire for r in await ob.fetch(10**6)}
    await ob.stop()
    assert MARKER.encode() in on_disk(db)
    ob = await sealed_outbox(db, key)
    assert ob.stats.migrated == 1200
    after = {r.seq: r.wire for r in await ob.fetch(10**6)}
    assert after == before  # every row, same seq, same message
    new = await ob.enqueue("event", {"n": "new"})
    assert new.seq == receipts[-1].seq + 1
    await ob.stop()
    assert {t for _, _, t in table(db)} == {"blob"}
    assert MARKER.encode() not in on_disk(db)  # no clear copy left in the file or the WAL


async def test_a_wrong_key_file_is_a_clear_error_and_no_row_is_touched(tmp_path: Path) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await sealed_outbox(db, key)
    await ob.enqueue_many([("event", {"n": i}) for i in range(7)])
    kid = ob.cipher.key_id
    await ob.stop()
    before = db.read_bytes()
    key.rename(tmp_path / "right.key")
    with pytest.raises(StoreError) as err:  # another device's key file, say
        await sealed_outbox(db, tmp_path / "other.key")
    assert f"does not hold the key(s) that sealed queued messages: {kid} (7 message(s))" in str(
        err.value
    )
    assert "nothing was deleted" in str(err.value)
    with pytest.raises(StoreError, match=r"7 sealed message.*no data key"):
        await sealed_outbox(db, None, encrypt=False)  # the key file is gone
    assert len(table(db)) == 7
    # The right key back: every row opens.
    ob = await sealed_outbox(db, tmp_path / "right.key")
    assert [r.seq for r in await ob.fetch(10)] == list(range(1, 8))
    await ob.stop()
    assert before[:100] == db.read_bytes()[:100]


def test_key_file_problems_are_one_line_errors(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    with pytest.raises(DataKeyError, match="not found"):
        DataKeyring.load(key)
    DataKeyring.create(key)
    os.chmod(key, 0o644)
    with pytest.raises(DataKeyError, match=r"readable by others \(mode 644\); run: chmod 600"):
        DataKeyring.load(key)
    os.chmod(key, 0o600)
    key.write_text('{"format": "edgetui-data-key-v1", "current": "x", "keys": []}')
    with pytest.raises(DataKeyError, match="malformed: current key x is not in the file"):
        DataKeyring.load(key)
    with pytest.raises(DataKeyError, match="already exists"):
        DataKeyring.create(key)


async def test_rotation_new_rows_under_the_new_key_old_ones_readable_until_they_drain(
    tmp_path: Path,
) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await sealed_outbox(db, key)
    old_rows = await ob.enqueue_many([("event", {"n": i}) for i in range(5)])
    k1 = ob.cipher.key_id
    out = await ob.rotate_key()
    k2 = out["key_id"]
    assert out["previous"] == k1 and k2 != k1 and out["retired"] == [] and len(out["keys"]) == 2
    await ob.enqueue_many([("event", {"n": i}) for i in range(5, 8)])
    await ob.stop()
    ob = await sealed_outbox(db, key)  # both keys still in the file
    assert [json.loads(r.wire)["n"] for r in await ob.fetch(100)] == list(range(8))
    assert sorted(DataKeyring.load(key).ids()) == sorted([k1, k2])
    # The old rows drain (acknowledged, deleted): the old key is no longer needed.
    await ob.delete([r.seq for r in old_rows])
    assert await ob.retire_keys() == [k1]
    assert DataKeyring.load(key).ids() == [k2]
    assert [json.loads(r.wire)["n"] for r in await ob.fetch(100)] == [5, 6, 7]
    await ob.stop()


async def test_export_writes_ciphertext_unless_decrypt(tmp_path: Path) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await sealed_outbox(db, key)
    await ob.enqueue_many([("log", {"text": MARKER, "i": i}) for i in range(4)])
    sealed = await ob.export(tmp_path / "sealed.ndjson")
    assert sealed["messages"] == 4 and sealed["sealed"] == 4 and not sealed["decrypted"]
    text = (tmp_path / "sealed.ndjson").read_text()
    assert MARKER not in text
    line = json.loads(text.splitlines()[0])
    assert line["sealed"]["alg"] == "AES-256-GCM" and line["sealed"]["key_id"] == ob.cipher.key_id
    assert "message" not in line
    clear = await ob.export(tmp_path / "clear.ndjson", decrypt=True, remove=True)
    assert clear["messages"] == 4 and clear["sealed"] == 0 and clear["removed"] == 4
    lines = [json.loads(x) for x in (tmp_path / "clear.ndjson").read_text().splitlines()]
    assert [x["message"]["i"] for x in lines] == [0, 1, 2, 3]
    await ob.stop()


async def test_decrypted_export_of_a_row_that_does_not_open_fails_and_removes_nothing(
    tmp_path: Path,
) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await sealed_outbox(db, key)
    await ob.enqueue_many([("log", {"i": i}) for i in range(3)])
    await ob.stop()
    con = sqlite3.connect(db)
    con.execute("UPDATE outbox SET created = created + 1 WHERE seq = 2")  # re-dated
    con.commit()
    con.close()
    ob = await sealed_outbox(db, key)
    with pytest.raises(
        StoreError, match=r"cannot decrypt 1 queued message.*seq 2.*nothing exported"
    ):
        await ob.export(tmp_path / "x.ndjson", decrypt=True, remove=True)
    assert not (tmp_path / "x.ndjson").exists()
    assert ob.queued() == 3
    # Sealed, it can still be carried away whole (the data stays sealed).
    out = await ob.export(tmp_path / "y.ndjson", remove=True)
    assert out["messages"] == 3 and out["removed"] == 3 and ob.stats.unreadable == 0
    await ob.stop()


async def test_encryption_off_keeps_old_sealed_rows_readable_and_new_rows_clear(
    tmp_path: Path,
) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    ob = await sealed_outbox(db, key)
    await ob.enqueue("event", {"n": 1})
    await ob.stop()
    ob = await sealed_outbox(db, key, encrypt=False)
    await ob.enqueue("event", {"n": 2})
    assert [json.loads(r.wire)["n"] for r in await ob.fetch(10)] == [1, 2]
    await ob.stop()
    assert [t for _, _, t in table(db)] == ["blob", "text"]


async def test_rollup_of_sealed_telemetry(tmp_path: Path) -> None:
    db, key = tmp_path / "o.db", tmp_path / "k.key"
    now = [1_700_000_000.0]
    ob = Outbox(StoreConfig(), db, maintenance_s=3600, clock=lambda: now[0], cipher=cipher_at(key))
    await ob.start()
    for i in range(6):
        now[0] = 1_699_999_200.0 + i * 60  # one hour, six samples
        await ob.enqueue("telemetry", {"metrics": {"cpu_utilization": 10.0 * i}})
    now[0] = 1_700_010_000.0
    assert await ob.rollup(3600) == 6
    rows = await ob.fetch(10)
    assert len(rows) == 1 and rows[0].seq == 7
    body = json.loads(rows[0].wire)
    assert body["metrics"]["cpu_utilization"] == 25.0 and body["rollup"]["count"] == 6
    await ob.stop()
    assert [t for _, _, t in table(db)] == ["blob"]


DATA = Path(__file__).parent / "data"


def _previous_version_db(tmp_path: Path) -> tuple[Path, Path, dict[int, bytes]]:
    """A database and key file made by the sealing code before the batched sealing (main at
    ea50bfe; see data/README): rows sealed by the migration, by a batch, one by one, a `{}`
    payload, an id that JSON must escape, and a row under a rotated key; with the wire form
    each drained as then."""
    db, key = tmp_path / "old.db", tmp_path / "old.key"
    shutil.copyfile(DATA / "outbox-v1.db", db)
    shutil.copyfile(DATA / "outbox-v1.key", key)
    os.chmod(key, 0o600)
    wires = json.loads((DATA / "outbox-v1.json").read_text())
    return db, key, {int(seq): w.encode() for seq, w in wires.items()}


async def test_rows_sealed_by_the_previous_version_open_as_the_same_wire(tmp_path: Path) -> None:
    db, key, wires = _previous_version_db(tmp_path)
    ob = await sealed_outbox(db, key)
    rows = await ob.fetch(100)
    assert {r.seq: r.wire for r in rows} == wires
    assert ob.stats.unreadable == 0 and len(ob.cipher.key_ids()) == 2
    # The same rows through the payload path (rollups, a decrypted export).
    out = await ob.export(tmp_path / "x.ndjson", decrypt=True)
    assert out["messages"] == 10 and out["sealed"] == 0
    # New rows (a batch) go in beside them and both drain in order.
    new = await ob.enqueue_many([("event", {"n": i}) for i in range(3)])
    assert [r.seq for r in new] == [11, 12, 13]
    rows = await ob.fetch(100)
    assert {r.seq: r.wire for r in rows if r.seq <= 10} == wires
    assert [json.loads(r.wire).get("n") for r in rows if r.seq > 10] == [0, 1, 2]
    await ob.stop()


async def test_a_previous_version_row_moved_or_replayed_does_not_open(tmp_path: Path) -> None:
    db, key, wires = _previous_version_db(tmp_path)
    con = sqlite3.connect(db)
    # Replay telemetry row 3 as row 4 (same class, same time), and re-date row 5.
    con.execute(
        "UPDATE outbox SET payload = (SELECT payload FROM outbox WHERE seq = 3) WHERE seq = 4"
    )
    con.execute("UPDATE outbox SET created = created + 0.001 WHERE seq = 5")
    # Row 8 ("{}") moved to a new seq: the same row under another number.
    con.execute("UPDATE outbox SET seq = 20 WHERE seq = 8")
    con.commit()
    con.close()
    ob = await sealed_outbox(db, key)
    rows = await ob.fetch(100)
    assert sorted(r.seq for r in rows) == [1, 2, 3, 6, 7, 9, 10]
    assert all(r.wire == wires[r.seq] for r in rows)
    assert ob.stats.unreadable == 3 and ob.queued() == 10
    await ob.stop()


def test_a_batch_takes_fresh_nonces_and_a_new_field_before_the_counter_wraps(
    tmp_path: Path,
) -> None:
    from edgetui.sealing.cipher import COUNTERS, HEAD, HEADER

    cipher = cipher_at(tmp_path / "k.key")
    texts = [b'{"n":%d}' % i for i in range(6)]
    aads = [b"row %d" % i for i in range(6)]
    first = cipher.seal_many(texts[:3], aads[:3])
    cipher._next = COUNTERS - 2  # as if 2^32 - 2 payloads had been sealed under this field
    second = cipher.seal_many(texts[3:], aads[3:])  # does not fit: a fresh field
    nonces = [b[HEAD:HEADER] for b in first + second]
    assert len(set(nonces)) == 6
    assert [n[-4:] for n in nonces] == [i.to_bytes(4, "big") for i in (0, 1, 2, 0, 1, 2)]
    assert nonces[0][:8] == nonces[2][:8] != nonces[3][:8] == nonces[5][:8]
    assert [cipher.open(b, a) for b, a in zip(first + second, aads, strict=True)] == texts
    assert cipher.open(cipher.seal(b"{}", b"x"), b"x") == b"{}"
    with pytest.raises(SealError, match="does not authenticate"):
        cipher.open(first[0], aads[1])  # bound to its own associated data
    assert cipher.seal_many([], []) == []


async def test_sealed_rows_drain_as_the_very_bytes_sqlite_builds_for_clear_rows(
    tmp_path: Path,
) -> None:
    # A sealed row's wire form is built in Python (the usual id inline, any other through
    # wire_of), a clear row's by SQLite: the bytes must be the same.
    ids = ["abc123", "Zé9", "ß", "a b", 'q"uote', "back\\slash", "tab\t", "e1", "e2"]
    bodies: list[dict[str, object]] = [{"n": i, "t": 'ü\n"x"'} for i in range(7)]
    bodies += [{}, {"a": []}]  # "{}" once the id is taken out
    items = [("event", {"id": oid, **b}) for oid, b in zip(ids, bodies, strict=True)]
    clear = await open_outbox(tmp_path / "c.db")
    sealed = await sealed_outbox(tmp_path / "s.db", tmp_path / "k.key")
    for ob in (clear, sealed):
        await ob.enqueue_many(items)
    want = [r.wire for r in await clear.fetch(100)]
    assert [r.wire for r in await sealed.fetch(100)] == want
    assert [json.loads(w)["id"] for w in want] == ids
    await clear.stop()
    await sealed.stop()
