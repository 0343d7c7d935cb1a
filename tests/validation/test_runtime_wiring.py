"""The validation and drift parts inside the real runtime: the llm agent's DECISION events
(with the model's confidence) reach the drift tracker through the bus, the baseline window
sees the engine's requests, and the sections appear in the status."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edgetui.config import Config
from edgetui.runtime import Runtime


async def wait_for(cond: Any, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_decisions_feed_drift_and_the_baseline(
    config: Config, state_dir: Path, tiny_model: Path
) -> None:
    config.agents.enabled = ["llm"]
    config.inference.model_path = str(tiny_model)
    config.inference.timeout_s = 120.0
    v = config.validation
    v.drift_reference_size, v.drift_window, v.drift_min_samples = 3, 3, 3
    v.baseline_requests, v.baseline_min_samples = 6, 6
    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        assert {"validate.run", "validate.last"} <= set(rt.method_names())
        assert rt.drift is not None and rt.validation is not None
        await rt._tick()
        snap = await rt.status()
        assert "validation" not in snap.sections  # no validation has run yet
        assert snap.sections["drift"].psi_max is None
        await wait_for(lambda: rt.validation.recorder is not None)  # the window is open
        for i in range(6):
            data = {"location": f"door{i % 2}"}
            await rt.call("bus.publish", {"type": "MOTION_DETECTED", "data": data})
            await wait_for(lambda n=i + 1: rt.drift.observed >= n)
        await wait_for(lambda: rt.validation.baseline is not None)
        await rt._tick()
        sections = (await rt.status()).sections
    finally:
        await rt.stop()
    drift = sections["drift"]
    assert drift.reference.source == "first_window" and drift.reference.samples == 3
    assert drift.window_samples == 3 and drift.psi_max is not None
    assert drift.psi.event_type == 0.0  # the same event type throughout
    assert 0.0 < drift.confidence_mean <= 1.0 and drift.confidence_reference is not None
    inference = sections["inference"]
    assert inference.last_decision.confidence is not None
    assert inference.baseline.samples == 6
    assert inference.baseline.version.startswith("sha256:")
    assert inference.p95_ratio == round(inference.p95_ms / inference.baseline.p95_ms, 3)
