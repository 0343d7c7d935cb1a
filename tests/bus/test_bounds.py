"""Issue 12 defects: the bus is bounded in bytes (an event by size, the history by bytes),
and a hostile event type is echoed in its error only as a short prefix."""

from __future__ import annotations

import pytest

from edgetui.api import APIError
from edgetui.bus.envelope import EnvelopeError
from edgetui.config import Config, ConfigError, parse_config
from edgetui.runtime import Runtime
from tests.bus.test_bus import SRC, make_bus


def test_an_event_above_max_event_bytes_is_refused_and_nothing_kept() -> None:
    bus, notes = make_bus()
    bus.publish("TEMPERATURE", {"value": 1}, source=SRC)
    with pytest.raises(EnvelopeError) as ei:
        bus.publish("BLOB", {"payload": "x" * 3_500_000}, source=SRC)
    assert ei.value.reason == "too_large"
    msg = str(ei.value)
    assert "above the bus limit of 32768" in msg and "max_event_bytes" in msg
    assert "\n" not in msg and len(msg) < 200
    assert bus.rejected == 1 and bus.published == 1
    assert [ev.type for ev in bus.history()] == ["TEMPERATURE"]
    assert len(notes) == 1


def test_forty_big_events_cannot_grow_the_history() -> None:
    # The reported attack: forty 3.5 MB events. Each is refused; the history stays small.
    bus, _ = make_bus()
    for _ in range(40):
        with pytest.raises(EnvelopeError):
            bus.publish("BLOB", {"payload": "x" * 3_500_000}, source=SRC)
    assert bus.section()["history_bytes"] == 0 and bus.rejected == 40


def test_history_is_bounded_in_bytes() -> None:
    bus, _ = make_bus(history_max_bytes=20_000, max_event_bytes=4_000)
    for i in range(100):
        bus.publish("READING", {"i": i, "pad": "y" * 2_000}, source=SRC)
    section = bus.section()
    assert section["history_bytes"] <= 20_000 < 100 * 2_000
    kept = bus.history()
    assert 0 < len(kept) < 100
    assert kept[-1].data["i"] == 99  # the newest stay, the oldest went
    assert [ev.data["i"] for ev in kept] == list(range(100 - len(kept), 100))
    assert section["history"] == len(kept)
    assert section["history_max_bytes"] == 20_000 and section["max_event_bytes"] == 4_000


def test_count_bound_still_applies() -> None:
    bus, _ = make_bus(history_size=3)
    for i in range(10):
        bus.publish("READING", {"i": i}, source=SRC)
    assert [ev.data["i"] for ev in bus.history()] == [7, 8, 9]


def test_a_long_event_type_is_cut_in_the_error() -> None:
    bus, _ = make_bus()
    with pytest.raises(EnvelopeError) as ei:
        bus.publish("T" * 10_000 + "/", {}, source=SRC)
    msg = str(ei.value)
    assert ei.value.reason == "bad_type"
    assert len(msg) < 120 and "10001 chars" in msg


async def test_refusal_over_the_runtime_api(config: Config, state_dir) -> None:
    config.agents.enabled = []
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        with pytest.raises(APIError) as ei:
            await rt.call("bus.publish", {"type": "BLOB", "data": {"p": "z" * 100_000}})
        assert ei.value.code == -32602 and "max_event_bytes" in str(ei.value)
        assert rt.bus is not None and rt.bus.section()["rejected"] == 1
    finally:
        await rt.stop()


def test_bus_byte_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match=r"\[bus\] max_event_bytes"):
        parse_config({"bus": {"max_event_bytes": 0}}, "x.toml")
    assert parse_config({"bus": {"history_max_bytes": 1024}}).bus.history_max_bytes == 1024


@pytest.mark.parametrize(
    "data",
    [
        {"p": "é" * 20_000},  # non-ASCII: measured as escaped JSON
        {"nested": {"a": "x" * 40_000}},
        {"list": list(range(10_000))},
        {"k" * 40_000: 1},
        {1: "x" * 40_000},  # a key that is not a string
    ],
)
def test_every_shape_of_big_data_is_measured(data: dict) -> None:
    bus, _ = make_bus()
    with pytest.raises(EnvelopeError) as ei:
        bus.publish("BLOB", data, source=SRC)
    assert ei.value.reason == "too_large"


def test_an_int_too_long_to_print_is_bad_data() -> None:
    bus, _ = make_bus()
    with pytest.raises(EnvelopeError) as ei:
        bus.publish("BLOB", {"big": 10**40_000}, source=SRC)
    assert ei.value.reason == "bad_data" and len(str(ei.value)) < 200


def test_a_big_source_counts_too() -> None:
    bus, _ = make_bus()
    with pytest.raises(EnvelopeError, match="max_event_bytes"):
        bus.publish("T", {}, source="s" * 40_000)
