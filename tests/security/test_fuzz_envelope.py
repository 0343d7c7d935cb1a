"""Fuzzing the bus envelope: random and mutated CloudEvents (as decoded JSON, as the bridge's
raw MQTT payloads, and through publish) give an Event or an EnvelopeError with a reason
slug and a one-line message; never another exception, and a refusal keeps nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgetui.bus.envelope import EnvelopeError, event_dict, event_from_dict
from edgetui.bus.event_bus import EventBus
from edgetui.bus.mqtt_bridge import MqttBridge
from edgetui.config import BusConfig
from edgetui.models.event import Event
from tests.support.fuzz import fuzz, json_values, mutated_bytes, mutated_doc, one_line

GOOD = event_dict(Event(type="MOTION_DETECTED", source="edgetui://d/sensor", data={"x": 1}))
REASONS = {
    "not_object",
    "missing_attribute",
    "bad_specversion",
    "bad_type",
    "bad_data",
    "bad_time",
    "too_large",
    "not_json",
    "type_mismatch",
}


def _bus() -> EventBus:
    return EventBus(BusConfig(max_event_bytes=2048, history_max_bytes=8192), "d")


def _decode(value) -> None:
    try:
        ev = event_from_dict(value)
    except EnvelopeError as exc:
        assert exc.reason in REASONS
        one_line(str(exc))
        return
    bus = _bus()
    try:
        bus.publish_event(ev)
    except EnvelopeError as exc:
        assert exc.reason in REASONS
        one_line(str(exc))
        assert bus.history() == [] and bus.rejected == 1
        return
    assert bus.history() == [ev]
    assert bus.section()["history_bytes"] <= 8192


@fuzz
@given(json_values)
def test_random_json(value) -> None:
    _decode(value)


@fuzz
@given(st.data())
def test_mutated_event(data: st.DataObject) -> None:
    _decode(data.draw(mutated_doc(GOOD)))


@fuzz
@given(st.text(max_size=300), json_values, st.text(max_size=60))
def test_publish_any_type_and_data(type_: str, value, source: str) -> None:
    bus = _bus()
    try:
        bus.publish(type_, value if isinstance(value, dict) else {"v": value}, source=source)
    except EnvelopeError as exc:
        assert exc.reason in REASONS
        one_line(str(exc))
        assert bus.history() == []


@fuzz
@given(st.data())
def test_bridge_payloads(data: st.DataObject) -> None:
    bridge = MqttBridge(_bus(), "mqtt://127.0.0.1:1", "d", max_bytes=4096)
    raw = json.dumps(GOOD).encode()
    payload = data.draw(st.one_of(st.binary(max_size=300), mutated_bytes(raw)))
    topic = bridge.prefix + data.draw(st.sampled_from(["MOTION_DETECTED", "X" * 500, "a/b"]))
    try:
        bridge._decode(topic, payload)
    except EnvelopeError as exc:
        assert exc.reason in REASONS
        one_line(str(exc))


def test_deep_payload_on_the_bridge() -> None:
    bridge = MqttBridge(_bus(), "mqtt://127.0.0.1:1", "d", max_bytes=1 << 20)
    with pytest.raises(EnvelopeError) as ei:
        bridge._decode(bridge.prefix + "X", b"[" * 200_000)
    assert ei.value.reason == "not_json"
