"""The local event bus: envelopes, wildcard subscriptions, bounded queues, history, sinks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from edgetui.api import APIError
from edgetui.bus.envelope import EnvelopeError, event_from_dict
from edgetui.bus.event_bus import EventBus
from edgetui.config import BusConfig
from edgetui.models import to_dict
from edgetui.models.event import Event

SRC = "edgetui://test-device/sensor"


def make_bus(**kw: Any) -> tuple[EventBus, list[tuple[str, dict[str, Any]]]]:
    notes: list[tuple[str, dict[str, Any]]] = []
    bus = EventBus(BusConfig(**kw), "test-device", notify=lambda k, d: notes.append((k, d)))
    return bus, notes


async def started(**kw: Any) -> tuple[EventBus, list[tuple[str, dict[str, Any]]]]:
    bus, notes = make_bus(**kw)
    await bus.start()
    return bus, notes


# -- envelope -------------------------------------------------------------------------
def test_publish_builds_a_cloudevents_envelope() -> None:
    bus, notes = make_bus()
    ev = bus.publish("MOTION_DETECTED", {"location": "front_door"}, source=SRC)
    d = to_dict(ev)
    assert d["specversion"] == "1.0"
    assert d["type"] == "MOTION_DETECTED" and d["source"] == SRC
    assert len(d["id"]) >= 16 and d["time"].endswith("Z")
    assert d["data"] == {"location": "front_door"}
    assert notes == [("event", d)]
    assert bus.published == 1


@pytest.mark.parametrize("attr", ["specversion", "id", "source", "type"])
def test_event_missing_required_attribute_is_rejected(attr: str) -> None:
    raw = to_dict(Event(type="TEMPERATURE", source=SRC, data={"value": 21.5}))
    del raw[attr]
    with pytest.raises(EnvelopeError) as exc:
        event_from_dict(raw)
    assert exc.value.reason == "missing_attribute"
    assert attr in str(exc.value)


@pytest.mark.parametrize("attr", ["id", "source", "type"])
def test_publish_event_with_empty_attribute_is_rejected_and_counted(attr: str) -> None:
    bus, notes = make_bus()
    ev = Event(type="TEMPERATURE", source=SRC)
    setattr(ev, attr, "")
    with pytest.raises(EnvelopeError):
        bus.publish_event(ev)
    assert bus.rejected == 1 and bus.published == 0 and notes == []


def test_wrong_specversion_is_rejected() -> None:
    raw = to_dict(Event(type="TEMPERATURE", source=SRC))
    raw["specversion"] = "0.3"
    with pytest.raises(EnvelopeError, match="specversion"):
        event_from_dict(raw)


@pytest.mark.parametrize("bad", ["devices/x", "A+B", "#", "MOTION*", "has space", ""])
def test_type_that_cannot_be_a_topic_level_is_rejected(bad: str) -> None:
    bus, _ = make_bus()
    with pytest.raises(EnvelopeError):
        bus.publish(bad, source=SRC)
    assert bus.rejected == 1


def test_non_object_data_is_rejected() -> None:
    raw = to_dict(Event(type="TEMPERATURE", source=SRC))
    raw["data"] = [1, 2]
    with pytest.raises(EnvelopeError, match="data"):
        event_from_dict(raw)


def test_event_from_dict_keeps_id_and_time_and_defaults_data() -> None:
    raw = {"specversion": "1.0", "id": "abc", "source": SRC, "type": "TEMPERATURE"}
    ev = event_from_dict({**raw, "time": "2026-05-06T14:30:00.000Z"})
    assert ev.id == "abc" and ev.time == "2026-05-06T14:30:00.000Z" and ev.data == {}


# -- subscriptions --------------------------------------------------------------------
async def test_wildcard_subscriptions_get_only_matching_types() -> None:
    bus, _ = await started()
    everything = bus.subscribe("*", name="all")
    motion = bus.subscribe("MOTION_*", name="motion")
    two = bus.subscribe(["TEMPERATURE", "SPEAK_?ARNING"], name="two")
    for t in ("MOTION_DETECTED", "TEMPERATURE", "SPEAK_WARNING", "MOTION_CLEARED", "NOTIFY"):
        bus.publish(t, source=SRC)

    def drain(sub: Any) -> list[str]:
        out = []
        while (ev := sub.get_nowait()) is not None:
            out.append(ev.type)
        return out

    assert drain(everything) == [
        "MOTION_DETECTED",
        "TEMPERATURE",
        "SPEAK_WARNING",
        "MOTION_CLEARED",
        "NOTIFY",
    ]
    assert drain(motion) == ["MOTION_DETECTED", "MOTION_CLEARED"]
    assert drain(two) == ["TEMPERATURE", "SPEAK_WARNING"]
    await bus.stop()


async def test_wildcard_is_case_sensitive() -> None:
    bus, _ = await started()
    sub = bus.subscribe("motion_*", name="lower")
    bus.publish("MOTION_DETECTED", source=SRC)
    assert sub.get_nowait() is None
    await bus.stop()


async def test_async_iteration_receives_published_events() -> None:
    bus, _ = await started()
    sub = bus.subscribe("TEMPERATURE", name="reader")
    got: list[float] = []

    async def reader() -> None:
        async for ev in sub:
            got.append(ev.data["value"])
            if len(got) == 3:
                return

    task = asyncio.create_task(reader())
    await asyncio.sleep(0)
    for v in (1.0, 2.0, 3.0):
        bus.publish("TEMPERATURE", {"value": v}, source=SRC)
        await asyncio.sleep(0)
    await asyncio.wait_for(task, 10)
    assert got == [1.0, 2.0, 3.0]
    await bus.stop()


async def test_slow_subscriber_drops_its_oldest_and_others_get_everything() -> None:
    bus, _ = await started(queue_size=1000)
    fast_a = bus.subscribe("*", name="fast-a")
    fast_b = bus.subscribe("MOTION_*", name="fast-b")
    slow = bus.subscribe("*", name="slow", queue_size=10)
    received: dict[str, list[int]] = {"fast-a": [], "fast-b": []}

    async def consume(sub: Any) -> None:
        async for ev in sub:
            received[sub.name].append(ev.data["n"])

    tasks = [asyncio.create_task(consume(s)) for s in (fast_a, fast_b)]
    # The slow one never reads. Publishing 500 events is synchronous: no await can block it.
    for n in range(500):
        bus.publish("MOTION_DETECTED", {"n": n}, source=SRC)
        if n % 50 == 0:
            await asyncio.sleep(0)  # let the fast consumers keep up
    for _ in range(20):
        await asyncio.sleep(0)
    assert received["fast-a"] == list(range(500))
    assert received["fast-b"] == list(range(500))
    assert slow.dropped == 490 and slow.queued == 10
    kept = [slow.get_nowait().data["n"] for _ in range(10)]  # type: ignore[union-attr]
    assert kept == list(range(490, 500))  # the newest survive, the oldest were dropped
    sec = bus.section()
    by_name = {s["name"]: s for s in sec["subscribers"]}
    assert by_name["slow"]["dropped"] == 490 and by_name["fast-a"]["dropped"] == 0
    assert sec["published"] == 500 and sec["dropped"] == 490
    for t in tasks:
        t.cancel()
    await bus.stop()


async def test_close_ends_iteration_and_stops_delivery() -> None:
    bus, _ = await started()
    sub = bus.subscribe("*", name="x")
    task = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    sub.close()
    with pytest.raises(Exception, match="x"):
        await asyncio.wait_for(task, 5)
    bus.publish("NOTIFY", source=SRC)
    assert sub.queued == 0
    assert all(s["name"] != "x" for s in bus.section()["subscribers"])
    await bus.stop()


# -- history --------------------------------------------------------------------------
def test_history_is_bounded_and_filtered() -> None:
    bus, _ = make_bus(history_size=5)
    for n in range(12):
        bus.publish("TEMPERATURE" if n % 2 else "MOTION_DETECTED", {"n": n}, source=SRC)
    hist = bus.history()
    assert [e.data["n"] for e in hist] == [7, 8, 9, 10, 11]
    assert [e.data["n"] for e in bus.history(limit=2)] == [10, 11]
    assert [e.data["n"] for e in bus.history(types="MOTION_*")] == [8, 10]
    assert bus.history(limit=0) == []
    assert bus.section()["history"] == 5


# -- sinks ----------------------------------------------------------------------------
async def test_sink_gets_only_outbox_types() -> None:
    bus, _ = make_bus()
    got: list[str] = []

    async def sink(ev: Event) -> None:
        got.append(ev.type)

    bus.add_sink(["MOTION_DETECTED", "SPEAK_WARNING"], sink, name="outbox")
    await bus.start()
    for t in ("MOTION_DETECTED", "TEMPERATURE", "SPEAK_WARNING", "NOTIFY"):
        bus.publish(t, source=SRC)
    for _ in range(10):
        await asyncio.sleep(0)
    assert got == ["MOTION_DETECTED", "SPEAK_WARNING"]
    await bus.stop()


async def test_a_sink_for_no_types_gets_nothing() -> None:
    """`[bus] outbox_types = []` means no bus event goes uplink, not every one."""
    bus, _ = make_bus()
    got: list[str] = []

    async def sink(ev: Event) -> None:
        got.append(ev.type)

    bus.add_sink([], sink, name="outbox")
    await bus.start()
    bus.publish("MOTION_DETECTED", source=SRC)
    for _ in range(10):
        await asyncio.sleep(0)
    assert got == [] and "outbox" not in [s["name"] for s in bus.section()["subscribers"]]
    await bus.stop()


async def test_failing_sink_is_counted_and_bus_keeps_flowing() -> None:
    bus, _ = make_bus()

    async def broken(ev: Event) -> None:
        raise OSError("disk full")

    bus.add_sink(["*"], broken, name="outbox")
    await bus.start()
    sub = bus.subscribe("*", name="reader")
    for _ in range(3):
        bus.publish("NOTIFY", source=SRC)
    for _ in range(10):
        await asyncio.sleep(0)
    assert bus.sink_errors == 3
    assert sub.queued == 3
    await bus.stop()


# -- methods --------------------------------------------------------------------------
async def test_methods_publish_and_history() -> None:
    bus, notes = await started()
    m = bus.methods()
    ev = await m["bus.publish"]({"type": "MOTION_DETECTED", "data": {"location": "yard"}})
    assert ev["source"] == "edgetui://test-device/cli"
    await m["bus.publish"]({"type": "TEMPERATURE", "source": SRC})
    hist = await m["bus.history"]({"limit": 10, "type": "MOTION_*"})
    assert [h["id"] for h in hist] == [ev["id"]]
    assert len(notes) == 2
    await bus.stop()


@pytest.mark.parametrize(
    "params",
    [{}, {"type": ""}, {"type": "A/B"}, {"type": "X", "data": [1]}, {"type": "X", "data": "s"}],
)
async def test_method_publish_bad_params_raise_invalid_params(params: dict[str, Any]) -> None:
    bus, _ = await started()
    with pytest.raises(APIError) as exc:
        await bus.methods()["bus.publish"](params)
    assert exc.value.code == -32602
    assert bus.published == 0
    await bus.stop()


async def test_method_history_bad_limit() -> None:
    bus, _ = await started()
    with pytest.raises(APIError):
        await bus.methods()["bus.history"]({"limit": "ten"})
    await bus.stop()


async def test_publish_from_another_thread_hops_onto_the_loop() -> None:
    bus, _ = await started()
    sub = bus.subscribe("*", name="r")
    await asyncio.to_thread(bus.publish, "NOTIFY", {"from": "thread"}, source=SRC)
    ev = await asyncio.wait_for(sub.get(), 5)
    assert ev.data == {"from": "thread"}
    await bus.stop()


def test_event_dict_matches_the_generic_serializer() -> None:
    from edgetui.bus.envelope import event_dict

    ev = Event(type="SPEAK_WARNING", source=SRC, data={"message": "hi", "n": [1, 2]})
    assert event_dict(ev) == to_dict(ev)
    assert list(event_dict(ev)) == list(to_dict(ev))
