"""What goes into the outbox: the seed's telemetry message, WARNING+ logs, hourly rollup."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from edgetui.config import StoreConfig
from edgetui.store.outbox import Outbox
from edgetui.telemetry.log_outbox import OutboxLogHandler
from edgetui.telemetry.publisher import TelemetryPublisher, build_telemetry

SNAP = {
    "time": "2026-05-06T14:30:00.000Z",
    "device_id": "dev-1",
    "resources": {
        "cpu_percent": 15.2,
        "memory_free_mb": 512.0,
        "disk_free_gb": 10.0,
        "process_uptime_seconds": 3600.0,
    },
}


def test_telemetry_message_has_the_seed_shape_and_nulls_for_absent_parts() -> None:
    msg = build_telemetry(SNAP, "dev-1", [{"level": "WARNING", "message": "m", "time": "t"}])
    assert msg == {
        "timestamp": "2026-05-06T14:30:00.000Z",
        "device_id": "dev-1",
        "metrics": {
            "cpu_utilization": 15.2,
            "memory_free_mb": 512.0,
            "disk_free_gb": 10.0,
            "inference_latency_ms": None,
            "agent_status": None,
            "model_version": None,
            "uptime_seconds": 3600.0,
        },
        "logs": [{"level": "WARNING", "message": "m", "time": "t"}],
        "device": {
            "type": None,
            "version": None,
            "slot": None,
            "slot_status": None,
            "memory_total_mb": None,
            "inference_p95_ms": None,
            "buffer_queued": None,
        },
    }


def test_telemetry_device_block_for_the_fleet() -> None:
    snap = dict(
        SNAP,
        device_type="camera",
        version="0.1.0",
        resources=dict(SNAP["resources"], memory_total_mb=1984.0),
        inference={"p50_ms": 30.0, "p95_ms": 41.5},
        buffer={"queued": 12},
        ota={"booted": "b", "slots": {"b": {"status": "trial", "version": "1.1.0"}}},
    )
    assert build_telemetry(snap, "dev-1")["device"] == {
        "type": "camera",
        "version": "0.1.0",
        "slot": "b",
        "slot_status": "trial",
        "memory_total_mb": 1984.0,
        "inference_p95_ms": 41.5,
        "buffer_queued": 12,
    }


def test_telemetry_takes_inference_agents_and_ota_when_present() -> None:
    snap = dict(
        SNAP,
        inference={"p50_ms": 75.0, "version": "v1.0.2"},
        agents=[{"name": "a", "status": "running"}, {"name": "b", "status": "idle"}],
    )
    m = build_telemetry(snap, "dev-1")["metrics"]
    assert (m["inference_latency_ms"], m["agent_status"], m["model_version"]) == (
        75.0,
        "running",
        "v1.0.2",
    )
    snap["agents"] = [{"name": "a", "status": "running"}, {"name": "b", "status": "error"}]
    assert build_telemetry(snap, "dev-1")["metrics"]["agent_status"] == "error"


def test_telemetry_reads_the_ota_section_as_the_ota_service_shapes_it() -> None:
    good = {"status": "good", "version": "1.0.0"}
    ota = {"booted": "a", "slots": {"a": good}, "update": {"state": "idle"}, "progress": None}
    snap = dict(SNAP, agents=[{"name": "a", "status": "idle"}], ota=ota)
    m = build_telemetry(snap, "dev-1")["metrics"]
    assert (m["agent_status"], m["model_version"]) == ("idle", "1.0.0")
    for update in (
        {"progress": {"phase": "download", "active": True}},
        {"update": {"state": "restarting"}},
        {"slots": {"a": dict(good, status="trial")}},
    ):
        m = build_telemetry(dict(snap, ota=dict(ota, **update)), "dev-1")["metrics"]
        assert m["agent_status"] == "updating", update


async def test_publisher_enqueues_every_interval(tmp_path: Path) -> None:
    ob = Outbox(StoreConfig(), tmp_path / "o.db", maintenance_s=3600)
    await ob.start()
    latest: list[dict | None] = [None]
    pub = TelemetryPublisher(
        ob.enqueue, lambda: latest[0], device_id="dev-1", interval_s=0.05, capture_logs=False
    )
    assert await pub.publish_once() is False  # no snapshot yet: nothing invented
    latest[0] = SNAP
    await pub.start()
    while ob.queued() < 3:
        await asyncio.sleep(0.02)
    await pub.stop()
    rows = await ob.fetch(10)
    assert all(r.kind == "telemetry" for r in rows)
    assert json.loads(rows[0].wire)["metrics"]["cpu_utilization"] == 15.2
    await ob.stop()


async def test_warnings_go_in_as_log_messages_and_debug_does_not(tmp_path: Path) -> None:
    ob = Outbox(StoreConfig(), tmp_path / "o.db", maintenance_s=3600)
    await ob.start()
    handler = OutboxLogHandler(ob.enqueue, "dev-1")
    logger = logging.getLogger("edgetui.test.feed")
    logger.setLevel(logging.DEBUG)
    handler.install(logger)
    try:
        logger.debug("not this")
        logger.info("nor this")
        logger.warning("disk %s is slow", "sda")
        logger.error("agent crashed")
        while ob.queued() < 2:
            await asyncio.sleep(0.01)
    finally:
        await handler.uninstall(logger)
    msgs = [json.loads(r.wire) for r in await ob.fetch(10)]
    assert [(m["level"], m["message"]) for m in msgs] == [
        ("WARNING", "disk sda is slow"),
        ("ERROR", "agent crashed"),
    ]
    assert all(m["device_id"] == "dev-1" and m["logger"] == "edgetui.test.feed" for m in msgs)
    assert [r["message"] for r in handler.take_recent()] == ["disk sda is slow", "agent crashed"]
    await ob.stop()


async def test_log_handler_does_not_recurse_when_the_outbox_fails(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    ob = Outbox(StoreConfig(), db, maintenance_s=3600)
    await ob.start()
    pages = (await ob._db.execute_fetchall("PRAGMA page_count"))[0][0]
    await ob.stop()
    ob = Outbox(StoreConfig(), db, page_limit=pages, maintenance_s=3600)
    await ob.start()
    handler = OutboxLogHandler(ob.enqueue, "dev-1")
    handler.install()  # root: the store's own "storage full" warning reaches it too
    try:
        for i in range(20):
            logging.getLogger("edgetui.test.feed").warning("warning %d %s", i, "x" * 3000)
        deadline = asyncio.get_running_loop().time() + 60
        while handler.dropped + ob.queued() < 20:
            assert asyncio.get_running_loop().time() < deadline, "records not all tried"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # a recursion would keep going from here
    finally:
        await handler.uninstall()
    # Every record was tried once (some fit, the rest were refused); the store's own
    # "storage full" warnings were not fed back in: no loop of failures.
    assert handler.dropped >= 10
    assert handler.dropped + ob.queued() == 20
    assert ob.stats.store_errors == handler.dropped
    await ob.stop()


async def test_rollup_folds_old_telemetry_into_hourly_averages(tmp_path: Path) -> None:
    now = [7200.0 * 1000]  # on an hour boundary
    ob = Outbox(StoreConfig(), tmp_path / "o.db", clock=lambda: now[0], maintenance_s=3600)
    await ob.start()
    base = now[0]
    for i, cpu in enumerate((10.0, 20.0, 30.0)):  # hour 1
        now[0] = base + 60 * i
        await ob.enqueue(
            "telemetry", build_telemetry(dict(SNAP, resources={"cpu_percent": cpu}), "d")
        )
    for i, cpu in enumerate((50.0, 70.0)):  # hour 2
        now[0] = base + 3600 + 60 * i
        await ob.enqueue(
            "telemetry", build_telemetry(dict(SNAP, resources={"cpu_percent": cpu}), "d")
        )
    now[0] = base + 3600 + 60 * 2
    await ob.enqueue("alert", {"keep": True})
    now[0] = base + 3 * 3600  # everything is older than 30 min now
    folded = await ob.rollup(30 * 60)
    assert folded == 5 and ob.stats.rolled_up == 5 and ob.stats.rollups == 2
    rows = await ob.fetch(10)
    kinds = [r.kind for r in rows]
    assert kinds == ["alert", "telemetry", "telemetry"]
    t1, t2 = (json.loads(r.wire) for r in rows[1:])
    assert t1["metrics"]["cpu_utilization"] == 20.0 and t1["rollup"]["count"] == 3
    assert t2["metrics"]["cpu_utilization"] == 60.0 and t2["rollup"]["count"] == 2
    assert t1["metrics"]["memory_free_mb"] is None  # never invented
    assert rows[1].seq > rows[0].seq  # a rollup is a new message with its own seq
    assert await ob.rollup(30 * 60) == 0  # one message per hour: nothing more to fold
    await ob.stop()
