"""The ingest loses nothing the broker acknowledged: what the store refuses is spooled on
local disk and replayed (also after a SIGKILL), and a named ingest's MQTT session is kept by
the broker while it is away. Real mosquitto, real PostgreSQL stopped and started again, real
SQLite files, `edgetui fleet ingest` subprocesses."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.fleet import Ingest, Spool, open_store, parse_broker
from edgetui.fleet.spool import FILENAME, OVERHEAD
from edgetui.fleet.store import FleetStore
from edgetui.fleet.store.sql import SqlFleetStore
from tests.fleet.helpers import ingesting, until
from tests.fleet.payloads import T0, alert, result, status, telemetry
from tests.fleet.test_processes import spawn_ingest, stop_ingest
from tests.support.mosquitto import Broker
from tests.support.postgres import PgServer, start_postgres

Msg = tuple[str, bytes]


def messages(batch: str, devices: int = 10) -> list[Msg]:
    """Five messages per device, one of each kind, every device new to the store."""
    out: list[Msg] = []
    for i in range(devices):
        dev = f"{batch}-d{i}"
        out += [
            status(dev, "online"),
            telemetry(dev, T0 + i, cpu=float(i)),
            alert(dev, "cpu_high", "firing", "warning", T0 + i),
            result(dev, f"c-{batch}-{i}", "SUCCEEDED", T0 + i, command="ota.check"),
            (f"devices/{dev}/audit", json.dumps({"seq": i, "batch": batch}).encode()),
        ]
    return out


def publish_all(broker: Broker, msgs: list[Msg]) -> None:
    """Publish at QoS 1 and wait for every PUBACK (the broker has them all)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        infos = [c.publish(t, p, qos=1) for t, p in msgs]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        c.disconnect()
        c.loop_stop()


def landed(store: FleetStore, batch: str, devices: int = 10) -> bool:
    """Every message of `batch` is in the store."""
    for i in range(devices):
        dev = f"{batch}-d{i}"
        d = store.device(dev)
        if d is None or d.status != "online" or d.last_telemetry is None:
            return False
        if not store.alerts(dev) or not store.commands(dev):
            return False
    return audit_count(store, batch) == devices


def audit_count(store: FleetStore, batch: str) -> int:
    assert isinstance(store, SqlFleetStore)
    rows = store._rows("SELECT body FROM audit")
    return sum(1 for (body,) in rows if json.loads(body)["batch"] == batch)


def spooled(path: Path) -> int:
    """Messages in the spool file, read by another connection (as after a crash)."""
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=10)
    try:
        return int(db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        db.close()


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL of these tests' own: they stop it (the session's server is shared)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.datadir.parent, ignore_errors=True)


def test_the_spool_is_bounded_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    one = OVERHEAD + len("devices/a/status") + len(b"online")
    spool = Spool(path, max_bytes=10 * one)
    items = [("devices/a/status", b"online", T0 + k) for k in range(8)]
    assert spool.append(items) == 0
    spool.close()
    spool = Spool(path, max_bytes=10 * one)  # after a restart: still there, same order
    assert (spool.messages, spool.bytes) == (8, 8 * one)
    # 5 more: 13 > 10, the 3 oldest go (counted)
    assert spool.append([("devices/a/status", b"online", T0 + 10 + k) for k in range(5)]) == 3
    upto, got = spool.oldest(4)
    assert [r for _, _, r in got] == [T0 + 3, T0 + 4, T0 + 5, T0 + 6]
    spool.delete(upto)
    assert spool.messages == 6 and spool.oldest(100)[1][0][2] == T0 + 7
    spool.close()


def test_a_replay_repeated_after_a_crash_changes_nothing(store: FleetStore, tmp_path: Path) -> None:
    """A crash between the store's commit and the spool's delete replays the same messages
    again: the store ends exactly as after one replay (both engines)."""
    msgs = messages("r", devices=6)
    msgs += msgs[:5]  # a QoS 1 resend inside the spool, received at the same time
    rows = [(t, p, T0 + 100) for t, p in msgs]
    for name in ("a", "b"):  # two identical spools: b is a as it was before the delete
        Spool(tmp_path / name / FILENAME, 1 << 20).append(rows)
    broker = parse_broker("mqtt://127.0.0.1:1")  # never connected: flush() is called directly
    assert isinstance(store, SqlFleetStore)
    dumps = []
    for name in ("a", "b"):
        spool = Spool(tmp_path / name / FILENAME, 1 << 20)
        ing = Ingest(store, broker, name="fleet-x", spool=spool, clock=lambda: T0 + 200)
        assert ing.flush() == len(rows)
        assert (ing.stats.replayed, ing.stats.spool_messages) == (len(rows), 0)
        dumps.append(
            [
                store._rows(f"SELECT * FROM {t} ORDER BY 1, 2")
                for t in ("devices", "alerts", "commands", "telemetry")
            ]
            + [store._rows("SELECT device_id, received, body FROM audit ORDER BY 1, 2, 3")]
        )
    assert dumps[0] == dumps[1]
    assert audit_count(store, "r") == 6  # the resent and the replayed audit records once


def test_store_down_then_back_while_running(
    own_pg: PgServer, mosquitto: Broker, tmp_path: Path
) -> None:
    url = own_pg.create_db()
    store = open_store(url, tmp_path)
    spool = Spool(tmp_path / FILENAME, 1 << 24)
    try:
        with ingesting(store, mosquitto.url, name="fleet-r", spool=spool) as ing:
            publish_all(mosquitto, messages("up"))
            until(lambda: landed(store, "up"), what="the first batch")
            own_pg.stop()
            publish_all(mosquitto, messages("down"))
            until(lambda: ing.stats.spool_messages == 50, what="the refused batch spooled")
            assert ing.stats.written == 50 and "store" in (ing.stats.last_error or "")
            own_pg.restart()  # the store's connection broke: it connects again by itself
            until(lambda: ing.stats.spool_messages == 0, what="the spool replayed")
            assert landed(store, "down")
            assert (ing.stats.spooled, ing.stats.replayed, ing.stats.dropped) == (50, 50, 0)
    finally:
        if own_pg.proc.poll() is not None:
            own_pg.restart()
        store.close()


def test_an_ingest_killed_while_the_store_is_down_loses_nothing(
    own_pg: PgServer, mosquitto: Broker, tmp_path: Path
) -> None:
    """SIGKILL while PostgreSQL is stopped: what the store refused is in the spool, what was
    published meanwhile waits in the broker's session; the same name started again writes
    every message, each once."""
    url = own_pg.create_db()
    state = tmp_path / "state"
    client_id = "edgetui-fleet-fleet-k"
    proc = spawn_ingest(mosquitto.url, url, "fleet-k", state)
    store = None
    try:
        until(
            lambda: f"Sending SUBACK to {client_id}" in mosquitto.log_text(),
            what="the ingest subscribed",
        )
        store = open_store(url, tmp_path)
        publish_all(mosquitto, messages("before"))
        until(lambda: landed(store, "before"), what="the first batch in the store")
        store.close()
        store = None
        own_pg.stop()
        publish_all(mosquitto, messages("refused"))  # acknowledged, then refused by the store
        until(lambda: spooled(state / FILENAME) == 50, what="the refused messages spooled")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        publish_all(mosquitto, messages("away"))  # no process of the group is connected
        own_pg.restart()
        proc = spawn_ingest(mosquitto.url, url, "fleet-k", state)
        store = open_store(url, tmp_path)
        until(lambda: landed(store, "refused"), what="the spooled messages replayed")
        until(lambda: landed(store, "away"), what="the messages the broker kept")
        stats = stop_ingest(proc)
        assert stats["persistent"] and stats["session_present"]
        assert (stats["replayed"], stats["spool_messages"], stats["dropped"]) == (50, 0, 0)
        assert stats["by_kind"].get("audit", 0) >= 10  # the queued ones at least
        for batch in ("before", "refused", "away"):
            assert audit_count(store, batch) == 10  # each once
    finally:
        if own_pg.proc.poll() is not None:
            own_pg.restart()
        if store is not None:
            store.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_named_ingest_gets_what_was_published_while_it_was_away(
    mosquitto: Broker, tmp_path: Path
) -> None:
    """Two processes in one group, one away: mosquitto 2 keeps sending the away one its
    share (queued in its session), which it gets once it is back under the same name."""
    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    try:
        with ingesting(store, mosquitto.url, name="fleet-b", session_expiry_s=600) as b:
            with ingesting(store, mosquitto.url, name="fleet-a", session_expiry_s=600):
                pass  # subscribed, then away (a clean DISCONNECT keeps the session)
            publish_all(mosquitto, messages("away", devices=20))
            with ingesting(store, mosquitto.url, name="fleet-a", session_expiry_s=600) as a:
                until(lambda: landed(store, "away", 20), what="every message, both shares")
                assert a.stats.session_present and a.stats.persistent
                shared = [s.by_kind.get("telemetry", 0) for s in (a.stats, b.stats)]
                assert sum(shared) == 20 and min(shared) > 0, shared
    finally:
        store.close()


def test_without_a_session_what_was_published_meanwhile_is_lost(
    mosquitto: Broker, tmp_path: Path
) -> None:
    """`session_expiry_s = 0` is the old behaviour (and an ingest without a name keeps no
    session): the broker keeps nothing for it."""
    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    try:
        with ingesting(store, mosquitto.url, name="fleet-c", session_expiry_s=0) as c:
            assert not c.stats.persistent
        publish_all(mosquitto, messages("gone", devices=2))
        with ingesting(store, mosquitto.url, name="fleet-c", session_expiry_s=0) as c:
            publish_all(mosquitto, messages("later", devices=2))
            until(lambda: landed(store, "later", 2), what="what was published after")
            assert not c.stats.session_present
            assert store.device("gone-d0") is None
        with ingesting(store, mosquitto.url, session_expiry_s=600) as unnamed:
            assert not unnamed.stats.persistent
    finally:
        store.close()
