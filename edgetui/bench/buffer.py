"""`edgetui bench buffer`: durable enqueue rate (single, batched), drain rate to a local
mosquitto at QoS 1, and, in the same run, a bare paho loop publishing the same payloads
at QoS 1 with the same in-flight window to the same broker; prints the ratio and the
bytes on disk per message.

The drain and the bare loop take turns, several rounds (the harness alternates which goes
first), and the medians are compared: on a shared machine one round of either swings by a
third."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.bench.broker import LocalBroker, find_mosquitto
from edgetui.bench.harness import Comparison, Goal, run_rounds
from edgetui.bench.report import add_bench, report
from edgetui.cli.context import Context
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK
from edgetui.config import StoreConfig, UplinkConfig
from edgetui.store import Outbox
from edgetui.telemetry.publisher import build_telemetry
from edgetui.uplink import Uplink

GOAL = 0.8


HELP = "outbox enqueue/drain rates vs a bare paho QoS 1 loop"
OPTIONS = """
    --messages 10000   messages drained per round (default 10000)
    --rounds 9         drain/bare rounds (default 9)
    --single 500       single durable enqueues timed
    --batch 200        messages per batched enqueue
    --window 20        QoS 1 in-flight window
"""


def register(sub: argparse._SubParsersAction) -> None:
    add_bench(sub, "buffer", HELP, cmd_bench_buffer, OPTIONS)


def sample_payload(i: int) -> dict[str, Any]:
    snap = {
        "time": "2026-05-06T14:30:00.000Z",
        "device_id": "bench-device",
        "resources": {
            "cpu_percent": 15.2 + i % 7,
            "memory_free_mb": 512.0,
            "disk_free_gb": 10.0,
            "process_uptime_seconds": 3600.0 + i,
        },
        "inference": {"p50_ms": 75.0, "version": "v1.0.2"},
        "agents": [{"name": "llm", "status": "running"}],
    }
    return build_telemetry(snap, "bench-device", [])


def _size_on_disk(db_path: Path) -> int:
    """Bytes of the database after folding the WAL back in."""
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))


async def _enqueue_rates(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    cfg = StoreConfig(max_messages=10**7, max_bytes=10**10)
    store = Outbox(cfg, tmp / "enqueue.db")
    await store.start()
    try:
        t0 = time.perf_counter()
        for i in range(args.single):
            await store.enqueue("telemetry", sample_payload(i))
        single = args.single / (time.perf_counter() - t0)
        n = args.messages
        t0 = time.perf_counter()
        for k in range(0, n, args.batch):
            m = min(args.batch, n - k)
            await store.enqueue_many([("telemetry", sample_payload(k + j)) for j in range(m)])
        batched = n / (time.perf_counter() - t0)
        queued = store.queued()
        payload_bytes = store.stats.queued_bytes
    finally:
        await store.stop()
    size = await asyncio.to_thread(_size_on_disk, tmp / "enqueue.db")
    return {
        "enqueue_single_per_s": round(single, 1),
        "enqueue_batched_per_s": round(batched, 1),
        "batch_size": args.batch,
        "bytes_on_disk_per_message": round(size / queued, 1),
        "payload_bytes_per_message": round(payload_bytes / queued, 1),
    }


async def fill_outbox(store: Outbox, n: int) -> None:
    """Queue `n` telemetry messages in a started outbox, a thousand per transaction."""
    for k in range(0, n, 1000):
        await store.enqueue_many(
            [("telemetry", sample_payload(k + j)) for j in range(min(1000, n - k))]
        )


async def _fill(path: Path, n: int) -> list[bytes]:
    """Queue `n` telemetry messages in a new outbox; returns their wire form."""
    store = Outbox(StoreConfig(max_messages=10**7, max_bytes=10**10), path)
    await store.start()
    try:
        await fill_outbox(store, n)
        return [r.wire for r in await store.fetch(n)]
    finally:
        await store.stop()


async def _drain_rate(path: Path, url: str, args: argparse.Namespace) -> float:
    store = Outbox(StoreConfig(max_messages=10**7, max_bytes=10**10), path)
    await store.start()
    try:
        config = UplinkConfig(url=url, inflight=args.window, client_id="bench-uplink")
        return await timed_drain(store, config, "bench-device")
    finally:
        await store.stop()


async def timed_drain(store: Outbox, config: UplinkConfig, device_id: str) -> float:
    """Messages per second of one drain of a started outbox through a real Uplink, timed
    from the moment the link is up to the last acknowledgement booked."""
    n = store.queued()
    up = Uplink(config, store, device_id=device_id)
    try:
        await up.start()
        while up.state != "connected":
            if up.state == "backoff":
                raise RuntimeError(f"uplink cannot connect: {up.state_text()}")
            await asyncio.sleep(0.01)
        # The drain starts the moment the link is up, before this loop sees it: time it
        # from then (connected_since is stamped just before the drain gets the client).
        assert up.connected_since is not None
        result = await up.flush(timeout=600)
        elapsed = time.time() - up.connected_since
        if not result["ok"]:
            raise RuntimeError(f"drain did not finish: {result}")
    finally:
        await up.stop()
    return n / elapsed


def _bare_paho_rate(port: int, wires: list[bytes], window: int) -> float:
    done = threading.Event()
    acked = [0]
    total = len(wires)

    def on_publish(c: Any, u: Any, mid: int, rc: Any, props: Any) -> None:
        acked[0] += 1
        if acked[0] >= total:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        t0 = time.perf_counter()
        for w in wires:
            client.publish("devices/bench-device/telemetry", w, qos=1)
        if not done.wait(timeout=600):
            raise RuntimeError("bare paho loop did not get every PUBACK")
        return total / (time.perf_counter() - t0)
    finally:
        client.disconnect()
        client.loop_stop()


def _drain_vs_bare(tmp: Path, broker: LocalBroker, args: argparse.Namespace) -> Comparison:
    """Drain and bare loop in turns, `args.rounds` times, each round on a freshly filled
    outbox and the same payloads (the fill is not timed); their rates (msg/s)."""
    state: dict[str, Any] = {}

    def fill(i: int) -> None:
        state["path"] = tmp / f"drain-{i}.db"
        state["wires"] = asyncio.run(_fill(state["path"], args.messages))

    rounds = run_rounds(
        {
            "drain": lambda: asyncio.run(_drain_rate(state["path"], broker.url, args)),
            "bare": lambda: _bare_paho_rate(broker.port, state["wires"], args.window),
        },
        rounds=max(1, args.rounds),
        measure="result",  # each side times itself: the drain from the link's coming up
        before_round=fill,
    )
    return rounds.compare(
        "drain", "bare",
        name=f"drain to mosquitto, QoS 1, {args.messages} messages, window {args.window}",
        labels=("edgetui drain (Outbox + Uplink)", "bare paho loop (same payloads)"),
        unit="msg/s", goal=Goal(">=", GOAL),
    )  # fmt: skip


def cmd_bench_buffer(ctx: Context) -> int:
    args = ctx.args
    exe = find_mosquitto()
    if exe is None:
        print("edgetui: bench buffer needs mosquitto (/usr/sbin/mosquitto)")
        return EXIT_ERROR
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-buffer-") as tmpname:
        tmp = Path(tmpname)
        out = asyncio.run(_enqueue_rates(tmp, args))
        broker = LocalBroker(tmp, exe)
        try:
            drain = _drain_vs_bare(tmp, broker, args)
        finally:
            broker.stop()
    assert drain.candidate_value is not None and drain.baseline_value is not None
    out.update(
        {
            "messages": args.messages,
            "rounds": args.rounds,
            "window": args.window,
            "drain_per_s": round(drain.candidate_value, 1),
            "bare_paho_per_s": round(drain.baseline_value, 1),
            "ratio": None if drain.ratio is None else round(drain.ratio, 3),
            "goal": GOAL,
            "meets_goal": drain.met,
        }
    )
    lines = [
        f"durable enqueue, single   {out['enqueue_single_per_s']:>10.0f} msg/s (fsync each)",
        f"durable enqueue, batched  {out['enqueue_batched_per_s']:>10.0f} msg/s "
        f"(batches of {args.batch})",
        f"bytes on disk per message {out['bytes_on_disk_per_message']:>10.0f} "
        f"(payload {out['payload_bytes_per_message']:.0f})",
    ]
    report([drain], as_json=args.json, figures=out, lines=lines)
    return EXIT_OK
