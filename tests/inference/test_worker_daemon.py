"""The daemon outlives its model worker: SIGKILL and SIGSEGV the worker during a stream of
events that arrive over a real mosquitto (the bus bridge), and every event still gets a
decision, every decision reaches the broker through the outbox, and the daemon (same pid,
same socket) reports the crashes in `status --json`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.inference import SHIPPED_MODEL
from edgetui.models.event import Event
from edgetui.models.serde import to_dict
from tests.support.cli import daemon_log, run_json, start_daemon
from tests.support.mqtt_sub import Collector

pytestmark = pytest.mark.timeout(240)
DEV = "crash-inf"
EVENTS = 60


def write_config(path: Path, port: int) -> Path:
    path.write_text(
        f"""
[device]
id = "{DEV}"
[telemetry]
publish_interval_s = 3600.0
[uplink]
url = "mqtt://127.0.0.1:{port}"
backoff_min_s = 0.1
backoff_max_s = 0.5
[bus]
bridge_url = "mqtt://127.0.0.1:{port}"
outbox_types = ["DECISION"]
[inference]
model_path = "{SHIPPED_MODEL}"
temperature = 0.0
restart_backoff_s = 0.2
[agents]
enabled = ["llm"]
[alerts]
enabled = false
"""
    )
    return path


async def status(state: Path, cfg: Path) -> dict[str, Any]:
    args = ("--config", str(cfg), "--state-dir", str(state), "status", "--json")
    return await asyncio.to_thread(run_json, *args)


async def worker_after(state: Path, cfg: Path, crashes: int) -> dict[str, Any]:
    """The worker section once `crashes` crashes were counted and a new worker serves."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 60
    while True:
        w = (await status(state, cfg))["inference"]["worker"]
        if w["crashes"] == crashes and w["state"] == "running" and w["pid"]:
            return w
        assert loop.time() < end, f"worker not back: {w}"
        await asyncio.sleep(0.1)


async def test_worker_crashes_cost_no_event_and_no_outbox_row(tmp_path: Path, mosquitto) -> None:
    state = tmp_path / "state"
    state.mkdir()
    cfg = write_config(tmp_path / "config.toml", mosquitto.port)
    sub = Collector(mosquitto.host, mosquitto.port, f"devices/{DEV}/events")
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="crash-test-pub")
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    daemon = start_daemon(state, config=cfg)
    sent: list[str] = []
    try:
        st = await status(state, cfg)
        first = st["inference"]["worker"]
        # The bridge and the llm agent are up before the stream starts.
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while not (
            st["bus"].get("bridge", {}).get("state") == "connected"
            and any(a["name"] == "llm" and a["status"] == "idle" for a in st["agents"])
        ):
            assert loop.time() < end, st
            await asyncio.sleep(0.1)
            st = await status(state, cfg)
        pid = first["pid"]
        for i in range(EVENTS):
            ev = Event(
                type="MOTION_DETECTED", source="edgetui://cam/ext", data={"location": "gate"}
            )
            sent.append(ev.id)
            pub.publish(f"devices/{DEV}/bus/MOTION_DETECTED", json.dumps(to_dict(ev)), qos=1)
            await asyncio.sleep(0.05)
            if i == 15:
                os.kill(pid, signal.SIGKILL)
            if i == 35:
                pid = (await worker_after(state, cfg, 1))["pid"]
                os.kill(pid, signal.SIGSEGV)

        def decided() -> set[str]:
            return {r["data"]["event_id"] for r in sub.rows() if r.get("type") == "DECISION"}

        await sub.wait_for(lambda: set(sent) <= decided(), 120)
        decisions = [r["data"] for r in sub.rows() if r.get("type") == "DECISION"]
        assert len({d["event_id"] for d in decisions}) == EVENTS
        w = await worker_after(state, cfg, 2)
        assert w["restarts"] == 2 and w["last_exit"]["cause"] == "signal 11"
        assert daemon.poll() is None  # the daemon itself never went down
        # While the worker was down the rules answered, and said why; the model is back.
        fallback = [d for d in decisions if d["source"] == "fallback"]
        assert all(
            d["reason"].startswith(("model crashed (signal", "model unavailable: "))
            for d in fallback
        ), fallback
        again = await status(state, cfg)
        ev = Event(type="MOTION_DETECTED", source="edgetui://cam/ext", data={"location": "gate"})
        pub.publish(f"devices/{DEV}/bus/MOTION_DETECTED", json.dumps(to_dict(ev)), qos=1)
        await sub.wait_for(lambda: ev.id in decided(), 60)
        last = next(r["data"] for r in sub.rows() if r["data"].get("event_id") == ev.id)
        assert last["source"] == "model", last
        assert again["buffer"]["state"] == "connected"
    except BaseException:
        print(daemon_log(state)[-4000:])
        raise
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.close()
        daemon.terminate()
        daemon.wait(timeout=30)
