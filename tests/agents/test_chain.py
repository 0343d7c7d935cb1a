"""The whole chain on a real bus with real llama.cpp: MOTION_DETECTED -> llm -> action."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edgetui.config import InferenceConfig
from edgetui.inference.engine import InferenceEngine
from edgetui.models.decision import ACTIONS
from tests.agents.helpers import make_bus, supervisor, wait_for


async def test_motion_goes_through_the_model_to_an_action_event(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = InferenceEngine(
        InferenceConfig(model_path=str(tiny_model), temperature=1.0), state_dir
    )
    await engine.start()
    bus = await make_bus()
    actions = bus.subscribe(["SPEAK_WARNING", "NOTIFY"], name="test-actions")
    decisions = bus.subscribe("DECISION", name="test-decisions")
    sup = supervisor(bus, state_dir, ["llm"], inference=engine)
    await sup.start()
    try:
        await wait_for(lambda: sup.states["llm"].status == "idle")
        got = None
        # The weights are random: IGNORE publishes no action, so try a few events.
        for i in range(30):
            cause = bus.publish(
                "MOTION_DETECTED", {"location": f"gate{i}"}, source=bus.source_for("sensor")
            )
            decision = await asyncio.wait_for(decisions.get(), 30)
            assert decision.data["event_id"] == cause.id
            assert decision.data["source"] == "model"
            assert decision.data["action"] in ACTIONS
            assert decision.source == "edgetui://test-device/llm"
            if decision.data["action"] != "IGNORE":
                got = await asyncio.wait_for(actions.get(), 5)
                assert got.type == decision.data["action"]
                assert got.data["cause"] == cause.id and got.data["decided_by"] == "model"
                assert got.data["message"] == decision.data["message"]
                break
        assert got is not None, "the model chose IGNORE 30 times in a row"
        detail = sup.states["llm"].detail
        assert detail["last_decision"]["source"] == "model" and detail["mode"] == "model"
        assert engine.section().requests >= 1
    finally:
        await sup.stop()
        await bus.stop()
        await engine.stop()


async def test_without_a_usable_model_the_rule_policy_decides_and_says_so(
    state_dir: Path, tmp_path: Path
) -> None:
    engine = InferenceEngine(InferenceConfig(model_path=str(tmp_path / "gone.gguf")), state_dir)
    await engine.start()
    bus = await make_bus()
    actions = bus.subscribe(["SPEAK_WARNING", "NOTIFY"], name="test-actions")
    sup = supervisor(
        bus,
        state_dir,
        ["llm"],
        inference=engine,
        settings={"llm": {"expected_visitors": ["courier at porch 09:00-12:00"]}},
    )
    await sup.start()
    try:
        await wait_for(lambda: sup.states["llm"].status == "idle")
        assert sup.states["llm"].detail["mode"].startswith("fallback: model file missing")
        bus.publish("MOTION_DETECTED", {"location": "porch"}, source=bus.source_for("sensor"))
        ev = await asyncio.wait_for(actions.get(), 10)
        # Expected visitor at that location: NOTIFY whatever the hour (documented rule).
        assert ev.type == "NOTIFY" and ev.data["decided_by"] == "fallback"
        assert "model unavailable" in ev.data["reason"] and "expected" in ev.data["reason"]
        # A quiet reading is context only: no decision, no action.
        bus.publish("SOUND_LEVEL", {"db": 30}, source=bus.source_for("sensor"))
        bus.publish("TEMPERATURE", {"celsius": 90}, source=bus.source_for("sensor"))
        ev = await asyncio.wait_for(actions.get(), 10)
        assert ev.type == "NOTIFY" and "temperature" in ev.data["message"].lower()
        assert sup.states["llm"].detail["decisions"] == 2
    finally:
        await sup.stop()
        await bus.stop()
        await engine.stop()


async def test_no_engine_at_all_still_decides_by_rule(state_dir: Path) -> None:
    bus = await make_bus()
    decisions = bus.subscribe("DECISION", name="test-decisions")
    sup = supervisor(bus, state_dir, ["llm"], inference=None)
    await sup.start()
    try:
        await wait_for(lambda: sup.states["llm"].status == "idle")
        bus.publish("MOTION_DETECTED", {"location": "yard"}, source=bus.source_for("sensor"))
        d = await asyncio.wait_for(decisions.get(), 10)
        assert d.data["source"] == "fallback" and d.data["action"] in ("SPEAK_WARNING", "NOTIFY")
        assert "no inference engine" in d.data["reason"]
    finally:
        await sup.stop()
        await bus.stop()
