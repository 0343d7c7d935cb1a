"""The MQTT bridge against a real mosquitto: out, in, no echo, bad messages, broker down."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.bus import EventBus, build_bus
from edgetui.bus.mqtt_bridge import MqttBridge
from edgetui.config import BusConfig
from edgetui.models import to_dict
from edgetui.models.event import Event
from tests.support.mosquitto import Broker, free_port, start_mosquitto

DEV = "test-device"
TOPIC = f"devices/{DEV}/bus/"


class Peer:
    """Another process on the broker: a plain paho client."""

    def __init__(self, broker: Broker) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="peer")
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(TOPIC + "#", qos=0)
        self.client.loop_start()
        # Until the SUBACK, the broker would drop what the bus sends: wait for it.
        assert subscribed.wait(60), "peer subscription not acknowledged"

    def publish(self, topic: str, payload: bytes | str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    async def next_message(self, timeout: float = 10.0) -> tuple[str, bytes]:
        return await asyncio.to_thread(self.messages.get, True, timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def peer(mosquitto: Broker) -> Iterator[Peer]:
    p = Peer(mosquitto)
    yield p
    p.close()


async def wait_for(cond: Any, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def bus(mosquitto: Broker) -> AsyncIterator[EventBus]:
    b = build_bus(BusConfig(bridge_url=mosquitto.url, bridge_max_bytes=4096), DEV)
    await b.start()
    await wait_for(lambda: b.bridge.state == "connected")
    yield b
    await b.stop()


def event_json(**over: Any) -> dict[str, Any]:
    d = to_dict(Event(type="MOTION_DETECTED", source="edgetui://cam/ext", data={"location": "x"}))
    d.update(over)
    return d


async def test_connected_once_the_broker_acknowledged_the_subscription(
    mosquitto: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bridge says "connected" after its SUBACK, not at its CONNACK: a message another
    process publishes once it says so is not dropped by the broker for want of a
    subscription."""
    seen: list[str] = []
    on_subscribe, set_state = MqttBridge._on_subscribe, MqttBridge._set_state

    def subscribed(self: MqttBridge, *args: Any) -> None:
        seen.append("suback")
        on_subscribe(self, *args)

    def state(self: MqttBridge, state: str, error: str | None) -> None:
        seen.append(state)
        set_state(self, state, error)

    monkeypatch.setattr(MqttBridge, "_on_subscribe", subscribed)
    monkeypatch.setattr(MqttBridge, "_set_state", state)
    b = build_bus(BusConfig(bridge_url=mosquitto.url), DEV)
    await b.start()
    try:
        await wait_for(lambda: b.bridge.state == "connected")
        assert seen == ["suback", "connected"]
        assert b.bridge.last_error is None
    finally:
        await b.stop()


async def test_local_event_goes_out_on_the_device_topic(bus: EventBus, peer: Peer) -> None:
    await asyncio.sleep(0.2)  # the peer's subscription is in place
    ev = bus.publish("SPEAK_WARNING", {"message": "hello"}, source="edgetui://test-device/llm")
    topic, payload = await peer.next_message()
    assert topic == TOPIC + "SPEAK_WARNING"
    assert json.loads(payload) == to_dict(ev)
    await wait_for(lambda: bus.bridge.section()["sent"] == 1)


async def test_message_from_another_process_joins_the_bus_once(bus: EventBus, peer: Peer) -> None:
    sub = bus.subscribe("MOTION_*", name="t")
    raw = event_json()
    peer.publish(TOPIC + "MOTION_DETECTED", json.dumps(raw))
    ev = await asyncio.wait_for(sub.get(), 10)
    assert ev.id == raw["id"] and ev.data == {"location": "x"} and ev.source == raw["source"]
    assert bus.bridge.section()["received"] == 1
    await peer.next_message()  # its own publication
    # The same id again (a retransmission) is not published twice: the bridge gets the
    # peer's messages in order, so once the next one is on the bus the repeat was handled.
    peer.publish(TOPIC + "MOTION_DETECTED", json.dumps(raw))
    marker = event_json()
    peer.publish(TOPIC + "MOTION_DETECTED", json.dumps(marker))
    assert (await asyncio.wait_for(sub.get(), 10)).id == marker["id"]
    assert sub.queued == 0 and bus.published == 2
    # Not echoed back: before the bridge's own next publication, the peer sees only its
    # own messages, never a copy from us.
    local = bus.publish("NOTIFY", {"n": 1}, source="edgetui://test-device/llm")
    before: list[str] = []
    while (doc := json.loads((await peer.next_message())[1]))["id"] != local.id:
        before.append(doc["id"])
    assert before == [raw["id"], marker["id"]]
    assert bus.bridge.section()["sent"] == 1


async def test_own_events_are_not_received_back(bus: EventBus, peer: Peer) -> None:
    sub = bus.subscribe("*", name="t")
    own = bus.publish("NOTIFY", {"n": 1}, source="edgetui://test-device/llm")
    await peer.next_message()  # it reached the broker
    # A copy of it coming back would reach the bridge before what the peer publishes now.
    marker = event_json()
    peer.publish(TOPIC + "MOTION_DETECTED", json.dumps(marker))
    assert (await asyncio.wait_for(sub.get(), 10)).id == own.id  # the local copy
    assert (await asyncio.wait_for(sub.get(), 10)).id == marker["id"]  # no second copy
    assert bus.published == 2 and bus.bridge.section()["received"] == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"this is not json {", "not_json"),
        (b"\xff\xfe\x00garbage", "not_json"),
        (json.dumps([1, 2, 3]).encode(), "not_object"),
        (
            json.dumps({k: v for k, v in event_json().items() if k != "id"}).encode(),
            "missing_attribute",
        ),
        (
            json.dumps({k: v for k, v in event_json().items() if k != "source"}).encode(),
            "missing_attribute",
        ),
        (
            json.dumps({k: v for k, v in event_json().items() if k != "specversion"}).encode(),
            "missing_attribute",
        ),
        (
            json.dumps({k: v for k, v in event_json().items() if k != "type"}).encode(),
            "missing_attribute",
        ),
        (json.dumps(event_json(specversion="0.3")).encode(), "bad_specversion"),
        (json.dumps(event_json(data={"blob": "x" * 5000})).encode(), "too_large"),
        (json.dumps(event_json(type="TEMPERATURE")).encode(), "type_mismatch"),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "not-object",
        "no-id",
        "no-source",
        "no-specversion",
        "no-type",
        "bad-specversion",
        "too-big",
        "topic-mismatch",
    ],
)
async def test_bad_bridge_message_is_dropped_and_counted(
    bus: EventBus, peer: Peer, payload: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    sub = bus.subscribe("*", name="t")
    peer.publish(TOPIC + "MOTION_DETECTED", payload)
    await wait_for(lambda: bus.bridge.section()["rejected"] == 1)
    sec = bus.bridge.section()
    assert sec["rejected_by_reason"] == {reason: 1}
    assert sub.queued == 0 and bus.published == 0
    assert any("dropped a message" in r.message for r in caplog.records)
    # ... and the bridge is still alive: a good message right after goes through.
    good = event_json()
    peer.publish(TOPIC + "MOTION_DETECTED", json.dumps(good))
    ev = await asyncio.wait_for(sub.get(), 10)
    assert ev.id == good["id"]
    assert bus.bridge.state == "connected"


async def test_broker_down_at_start_then_bridge_connects_on_its_own(tmp_path: Path) -> None:
    port = free_port()
    bus = build_bus(BusConfig(bridge_url=f"mqtt://127.0.0.1:{port}"), DEV)
    await bus.start()
    try:
        await wait_for(lambda: bus.bridge.section()["last_error"] is not None)
        sec = bus.section()["bridge"]
        assert sec["state"] != "connected"
        # The bus keeps working locally.
        sub = bus.subscribe("*", name="local")
        bus.publish("TEMPERATURE", {"value": 20.0}, source="edgetui://test-device/sensor")
        assert (await asyncio.wait_for(sub.get(), 5)).data == {"value": 20.0}
        await wait_for(lambda: bus.bridge.section()["send_failed"] == 1)
        broker = start_mosquitto(tmp_path, port=port)
        try:
            await wait_for(lambda: bus.bridge.state == "connected", timeout=30)
            p = Peer(broker)
            try:
                await asyncio.sleep(0.2)
                bus.publish("TEMPERATURE", {"value": 21.0}, source="edgetui://test-device/s")
                topic, _ = await p.next_message()
                assert topic == TOPIC + "TEMPERATURE"
            finally:
                p.close()
            # Broker goes away again: the section says so, the bus still works.
            broker.stop()
            await wait_for(lambda: bus.bridge.state == "disconnected")
            bus.publish("TEMPERATURE", {"value": 22.0}, source="edgetui://test-device/s")
            assert sub.queued >= 1
        finally:
            broker.stop()
    finally:
        await bus.stop()


async def test_bad_bridge_url_leaves_the_bus_working() -> None:
    bus = build_bus(BusConfig(bridge_url="http://nope"), DEV)
    await bus.start()
    try:
        sec = bus.section()["bridge"]
        assert sec["state"] == "error" and "mqtt://" in sec["last_error"]
        sub = bus.subscribe("*", name="x")
        bus.publish("NOTIFY", source="edgetui://test-device/x")
        assert sub.queued == 1
    finally:
        await bus.stop()
