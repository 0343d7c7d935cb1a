"""DriftService on a real bus: the reference forms from the first decisions after commit,
PSI and confidence compare the recent window with it, and the reference survives restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.bus import EventBus
from edgetui.config import BusConfig, ValidationConfig
from edgetui.validation import DriftHooks, DriftService, ValidationDB

SRC = "edgetui://test-device/llm"


class Device:
    """A real bus, a validation database and a drift tracker over them."""

    def __init__(self, root: Path, committed: Callable[[], bool] = lambda: True) -> None:
        self.root = root
        self.bus = EventBus(BusConfig(), "test-device")
        self.db = ValidationDB(root / "validation.db")
        cfg = ValidationConfig(drift_reference_size=20, drift_window=20, drift_min_samples=10)
        self.drift = DriftService(
            cfg,
            root,
            db=lambda: self.db,
            hooks=DriftHooks(
                subscribe=lambda types: self.bus.subscribe(types, name="drift"),
                model_version=lambda: "1.0.0",
                committed=committed,
            ),
        )
        self.seen = 0

    async def __aenter__(self) -> Device:
        await self.bus.start()
        await self.drift.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drift.stop()
        await self.bus.stop()
        self.db.close()

    async def decide(self, n: int, action: str, confidence: float, db: float = 85.0) -> None:
        """n SOUND_LEVEL events at the garage and the llm agent's DECISION on each."""
        for _ in range(n):
            cause = self.bus.publish("SOUND_LEVEL", {"db": db, "location": "garage"}, source=SRC)
            decision = {
                "action": action,
                "event_type": "SOUND_LEVEL",
                "event_id": cause.id,
                "location": "garage",
                "source": "model",
                "confidence": confidence,
                "at": "2026-05-06T14:30:00.000Z",
            }
            self.bus.publish("DECISION", decision, source=SRC)
        self.seen += n
        await wait_for(lambda: self.drift.observed >= self.seen)

    def section(self) -> dict[str, Any]:
        return self.drift.section()


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_reference_then_psi_and_confidence(tmp_path: Path) -> None:
    async with Device(tmp_path) as dev:
        assert dev.section().psi_max is None
        assert dev.section().reference.source == "none"
        await dev.decide(10, "NOTIFY", 0.9)
        await dev.decide(10, "IGNORE", 0.8)
        s = dev.section()
        assert s.reference.source == "first_window" and s.reference.samples == 20
        assert s.psi_max is None  # the window is still empty
        # The same mix again: no drift.
        await dev.decide(10, "NOTIFY", 0.9)
        await dev.decide(10, "IGNORE", 0.8)
        s = dev.section()
        assert s.window_samples == 20 and s.psi_max == 0.0 and s.band == "none"
        assert s.confidence_reference == s.confidence_mean == 0.85
        assert s.confidence_drop == 0.0
        # Loud at another level, all warned, the model unsure: the window fills with drift.
        await dev.decide(20, "SPEAK_WARNING", 0.4, db=105.0)
        s = dev.section()
        assert s.band == "significant" and s.psi_max >= 0.2
        assert s.psi.action >= 0.2 and s.psi.reading >= 0.2
        assert s.psi.event_type == 0.0 and s.psi.location == 0.0
        assert s.confidence_mean == 0.4 and s.confidence_drop == 0.45
    # A restart keeps the reference (the validation database), not the window.
    async with Device(tmp_path) as dev:
        await dev.decide(10, "SPEAK_WARNING", 0.4, db=105.0)
        s = dev.section()
        assert s.reference.samples == 20 and s.window_samples == 10
        assert s.band == "significant" and s.confidence_reference == 0.85


async def test_a_trial_slot_records_no_reference(tmp_path: Path) -> None:
    async with Device(tmp_path, committed=lambda: False) as dev:
        for _ in range(5):
            dev.bus.publish("DECISION", {"action": "NOTIFY", "event_type": "X"}, source=SRC)
        marker = dev.bus.publish("TEMPERATURE", {"celsius": 20}, source=SRC)
        await wait_for(lambda: marker.id in dev.drift._causes)  # every DECISION came first
        section = dev.section()
        assert section.reference.source == "none" and section.window_samples == 0


async def test_a_shipped_reference_is_used(tmp_path: Path) -> None:
    slot = tmp_path / "slots" / "a"
    slot.mkdir(parents=True)
    (tmp_path / "slots" / "current").symlink_to("a")
    shipped = {
        "samples": 100,
        "histograms": {
            "event_type": {"SOUND_LEVEL": 100},
            "location": {"garage": 100},
            "hour": {"15-18": 100},
            "reading": {"SOUND_LEVEL:80": 100},
            "action": {"NOTIFY": 100},
        },
        "confidence_mean": 0.9,
    }
    (slot / "drift_reference.json").write_text(json.dumps(shipped))
    async with Device(tmp_path) as dev:
        await dev.decide(10, "IGNORE", 0.5)
        s = dev.section()
        assert s.reference.source == "bundle" and s.reference.samples == 100
        assert s.psi.action > 0.2 and s.confidence_drop == 0.4
