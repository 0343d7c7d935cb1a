"""The bus inside the runtime: snapshot section, notifications, the outbox sink."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from edgetui.config import Config
from edgetui.runtime import Runtime


async def wait_for(cond: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_bus_section_methods_and_event_notifications(config: Config, state_dir: Path) -> None:
    config.agents.enabled = []  # only the events this test publishes
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        assert "bus.publish" in rt.method_names() and "bus.history" in rt.method_names()
        notes = rt.subscribe(["event"])
        first = asyncio.create_task(notes.__anext__())
        await asyncio.sleep(0.05)
        ev = await rt.call("bus.publish", {"type": "MOTION_DETECTED", "data": {"location": "x"}})
        note = await asyncio.wait_for(first, 10)
        assert note.kind == "event" and note.data["id"] == ev["id"]
        await notes.aclose()
        await rt._tick()
        snap = await rt.status()
        bus = snap.sections["bus"]
        assert bus["published"] == 1 and bus["bridge"] == {"state": "disabled"}
        assert {"published", "dropped", "subscribers"} <= set(bus)
    finally:
        await rt.stop()


async def test_outbox_sink_gets_outbox_types_only(config: Config, state_dir: Path) -> None:
    """The real outbox (issue 4) receives the configured types, as kind "event"."""
    config.bus.outbox_types = ["MOTION_DETECTED", "SPEAK_*"]
    config.agents.enabled = []
    rt = Runtime(config, state_dir)
    await rt.start()
    assert rt.store is not None
    try:
        for t in ("MOTION_DETECTED", "TEMPERATURE", "SPEAK_WARNING"):
            await rt.call("bus.publish", {"type": t})

        async def event_rows() -> list[dict[str, Any]]:
            rows = await rt.store.fetch(100)
            return [json.loads(r.wire) for r in rows if r.kind == "event"]

        loop = asyncio.get_running_loop()
        end = loop.time() + 15
        while len(rows := await event_rows()) < 2:
            assert loop.time() < end, "outbox rows did not arrive"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        rows = await event_rows()
        assert [r["type"] for r in rows] == ["MOTION_DETECTED", "SPEAK_WARNING"]
        assert rows[0]["specversion"] == "1.0" and rows[0]["source"].startswith("edgetui://")
        names = [s["name"] for s in rt.bus.section()["subscribers"]]
        assert "outbox" in names
    finally:
        await rt.stop()


async def test_no_store_means_no_outbox_sink(config: Config, state_dir: Path) -> None:
    config.agents.enabled = []  # only the events this test publishes
    rt = Runtime(config, state_dir)
    rt._build_store = lambda: None  # type: ignore[method-assign]
    await rt.start()
    try:
        assert rt.bus is not None
        names = [s["name"] for s in rt.bus.section()["subscribers"]]
        assert "outbox" not in names
    finally:
        await rt.stop()
