"""The uplink against a real mosquitto: order, ids/seqs, topics, status, outages."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from pathlib import Path

from edgetui.config import StoreConfig
from edgetui.models.serde import to_dict
from edgetui.store.outbox import Outbox
from tests.support.mosquitto import free_port, start_mosquitto
from tests.support.mqtt_sub import Collector
from tests.uplink.helpers import close_pair, make_pair, wait_until

KINDS = ("alert", "event", "telemetry", "log")
TOPIC = {"alert": "alerts", "event": "events", "telemetry": "telemetry", "log": "logs"}


async def test_drains_by_class_then_seq_with_id_seq_topics_and_status(
    tmp_path: Path, mosquitto
) -> None:
    sub = Collector(mosquitto.host, mosquitto.port)
    ob, up = await make_pair(tmp_path, mosquitto.url)
    receipts = {}
    for i, kind in enumerate(("log", "telemetry", "event", "alert") * 3):
        r = await ob.enqueue(kind, {"i": i})
        receipts[r.seq] = (kind, r.id)
    await up.start()
    await wait_until(lambda: len(sub.rows()) == 12, what="12 messages")
    rows = sub.rows()
    assert [receipts[r["seq"]][0] for r in rows] == [k for k in KINDS for _ in range(3)]
    for r in rows:
        kind, oid = receipts[r["seq"]]
        assert r["id"] == oid
        assert r["_topic"] == f"devices/dev-1/{TOPIC[kind]}"
    await wait_until(lambda: ob.queued() == 0, what="rows deleted after PUBACK")
    assert b"online" in sub.statuses()
    section = to_dict(up.section())
    assert section["state"] == "connected" and section["broker"] == mosquitto.url
    assert section["sent"] == 12 and section["queued"] == 0
    await close_pair(ob, up)
    await wait_until(lambda: sub.statuses()[-1:] == [b"offline"], what="offline on stop")
    sub.close()


async def test_no_broker_configured_buffers_within_bounds(tmp_path: Path) -> None:
    ob, up = await make_pair(tmp_path, "", store={"max_messages": 5})
    await up.start()
    for i in range(8):
        await ob.enqueue("telemetry", {"i": i})
    s = to_dict(up.section())
    assert s["state"] == "no_broker" and s["state_text"] == "no broker configured"
    assert s["queued"] == 5 and s["dropped"] == 3 and s["fill_percent"] == 100.0
    result = await up.flush(0.2)
    assert result["ok"] is False and result["last_error"] == "no broker configured"
    await close_pair(ob, up)


async def test_ten_thousand_through_an_outage_none_lost_order_kept(tmp_path: Path) -> None:
    port = free_port()
    # Long backoff: the test decides when the link comes back (after its subscriber).
    ob, up = await make_pair(
        tmp_path, f"mqtt://127.0.0.1:{port}", backoff_min_s=30, backoff_max_s=30, inflight=50
    )
    await up.start()
    await wait_until(lambda: up.state == "backoff", what="backoff")
    assert up.error is not None and up.error.kind == "connection_refused"
    rng = random.Random(7)
    expected: dict[str, list[int]] = {k: [] for k in KINDS}
    for start in range(0, 10_000, 500):
        items = [(rng.choice(KINDS), {"n": start + j}) for j in range(500)]
        for (kind, _), r in zip(items, await ob.enqueue_many(items), strict=True):
            expected[kind].append(r.seq)
    assert ob.queued() == 10_000
    broker = start_mosquitto(tmp_path, "max_queued_messages 0", port=port)
    try:
        sub = Collector(broker.host, broker.port)
        up.retry_now()
        await wait_until(lambda: len(sub.rows()) >= 10_000, timeout=90, what="10000 messages")
        await wait_until(lambda: ob.queued() == 0, what="empty outbox")
        got: dict[str, list[int]] = {k: [] for k in KINDS}
        suffix = {"alerts": "alert", "events": "event", "telemetry": "telemetry", "logs": "log"}
        for r in sub.rows():
            got[suffix[r["_topic"].rsplit("/", 1)[1]]].append(r["seq"])
        assert got == expected  # none lost, none duplicated, seq order within each class
        sub.close()
    finally:
        await close_pair(ob, up)
        broker.stop()


async def test_broker_killed_mid_drain_and_restarted_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    persist = tmp_path / "persist"
    persist.mkdir()
    # max_inflight_messages 1: the broker's own redelivery to the subscriber after its
    # restart is then at most one message, so the count below measures the device's resends.
    conf = (
        f"persistence true\npersistence_location {persist}/\nmax_queued_messages 0\n"
        "max_inflight_messages 1"
    )
    broker = start_mosquitto(tmp_path, conf, port=port)
    sub = Collector(broker.host, port, client_id="keeper", persistent=True)
    ob, up = await make_pair(tmp_path, f"mqtt://127.0.0.1:{port}", inflight=20)
    total = 10000
    seqs = [r.seq for r in await ob.enqueue_many([("telemetry", {"n": i}) for i in range(total)])]
    try:
        await up.start()
        # Judged on the device's side: the subscriber (one message in flight) lags far
        # behind it, and waiting for it let the device finish before the broker went down.
        # (rows leave the table in bulk, 512 acknowledged at a time)
        await wait_until(lambda: ob.queued() <= total - 600, what="drain under way")
        broker.stop()  # mid-drain (SIGTERM: the broker keeps its persistent sessions)
        await wait_until(lambda: up.state == "backoff", what="backoff after the kill")
        assert up.error is not None and up.error.kind in ("connection_lost", "connection_refused")
        left = ob.queued()
        assert 0 < left < total
        broker = start_mosquitto(tmp_path, conf, port=port, name="mosquitto-2")
        await wait_until(lambda: ob.queued() == 0, timeout=60, what="drained after restart")
        await wait_until(lambda: set(sub.seqs()) >= set(seqs), timeout=30, what="every seq")
        dups = len(sub.seqs()) - len(set(sub.seqs()))
        assert dups <= 20 + 1  # the device's in-flight window, plus the broker's one
    finally:
        sub.close()
        await close_pair(ob, up)
        broker.stop()


async def test_flush_and_commands_go_to_the_verifier(tmp_path: Path, mosquitto) -> None:
    sub = Collector(mosquitto.host, mosquitto.port)
    ob, up = await make_pair(tmp_path, mosquitto.url)
    got: list[bytes] = []
    up.on_command = got.append  # the runtime hands in edgetui.remote's RemoteCommands
    await ob.enqueue_many([("event", {"n": i}) for i in range(50)])
    await up.start()
    result = await up.flush(30)
    assert result["ok"] and result["remaining"] == 0 and result["sent"] == 50
    # The old unsigned `flush` is not obeyed by the uplink: the payload goes, as it is, to
    # the signed-command verifier (which rejects it: tests/security/test_remote.py).
    unsigned = json.dumps({"command": "flush"}).encode()
    sub.client.publish("devices/dev-1/commands", unsigned, qos=1)
    await wait_until(lambda: got == [unsigned], what="command handed on")
    assert "commands" not in to_dict(up.section())
    sub.close()
    await close_pair(ob, up)


async def test_store_from_a_previous_run_drains_after_restart(tmp_path: Path, mosquitto) -> None:
    ob = Outbox(StoreConfig(), tmp_path / "outbox.db")
    await ob.start()
    await ob.enqueue_many([("alert", {"n": i}) for i in range(10)])
    await ob.stop()
    sub = Collector(mosquitto.host, mosquitto.port)
    ob, up = await make_pair(tmp_path, mosquitto.url)
    await up.start()
    await wait_until(lambda: sub.seqs() == list(range(1, 11)), what="the old rows")
    sub.close()
    await close_pair(ob, up)


async def test_an_idle_link_stays_up_on_keepalive_pings(tmp_path: Path, mosquitto) -> None:
    # The drain thread runs the connection's loop itself: with nothing to send it must
    # still ping, or the broker drops the client after 1.5 x keepalive.
    ob, up = await make_pair(tmp_path, mosquitto.url, keepalive=1)
    await up.start()
    await wait_until(lambda: up.state == "connected", what="connected")
    # Without pings, mosquitto 2.0 drops a keepalive=1 client after 5.5 s here.
    await asyncio.sleep(7.5)
    assert up.state == "connected" and up.attempts == 1
    sub = Collector(mosquitto.host, mosquitto.port)
    await ob.enqueue("event", {"after": "idle"})
    await wait_until(lambda: sub.seqs() == [1], what="the message after the idle time")
    await close_pair(ob, up)
    sub.close()


async def test_a_clean_stop_waits_for_the_pubacks_of_what_is_in_flight(
    tmp_path: Path, mosquitto
) -> None:
    ob, up = await make_pair(tmp_path, mosquitto.url, inflight=50)
    await ob.enqueue_many([("telemetry", {"i": i}) for i in range(5000)])
    await up.start()
    await wait_until(lambda: up.drainer.published >= 500, what="drain under way")
    await up.stop()
    published = up.drainer.published
    await ob.stop()
    # Reopened: exactly the rows never published are left; none of those in flight at the
    # stop would be sent a second time.
    ob2 = Outbox(StoreConfig(), tmp_path / "outbox.db")
    await ob2.start()
    try:
        assert published < 5000 and ob2.queued() == 5000 - published
    finally:
        await ob2.stop()


async def test_a_row_queued_while_the_window_is_full_goes_out_once_there_is_room(
    tmp_path: Path, mosquitto
) -> None:
    """The wake-up for a row added while every window slot waits for a PUBACK is kept
    until the drain can read it: it was consumed unread, and the row sat in the outbox
    until some later row woke the drain again (seen as a crash test's restarted daemon
    never draining its own start-up warning)."""
    sub = Collector(mosquitto.host, mosquitto.port)
    ob, up = await make_pair(tmp_path, mosquitto.url, inflight=2)
    try:
        await up.start()
        await wait_until(lambda: up.state == "connected", what="connected")
        os.kill(mosquitto.proc.pid, signal.SIGSTOP)  # no PUBACK until SIGCONT
        try:
            await ob.enqueue_many([("telemetry", {"n": 1}), ("telemetry", {"n": 2})])
            await wait_until(lambda: up.drainer.published == 2, what="the window full")
            await ob.enqueue("telemetry", {"n": 3})
            # The drain thread has taken the wake-up (with the window still full).
            await wait_until(lambda: not up.drainer._new_rows, what="the wake-up taken")
            assert up.drainer.published == 2
        finally:
            os.kill(mosquitto.proc.pid, signal.SIGCONT)
        await wait_until(lambda: sub.seqs() == [1, 2, 3], timeout=60, what="all three rows")
        await wait_until(lambda: ob.queued() == 0, timeout=60, what="an empty outbox")
    finally:
        sub.close()
        await close_pair(ob, up)
