"""Speaker (espeak-ng to WAV, or log) and sensor (simulated, lines with bad input)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from tests.agents.helpers import make_bus, supervisor, wait_for


def wav_head(path: Path) -> tuple[bytes, int]:
    data = path.read_bytes()
    return data[:12], len(data)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_speaker_writes_a_wav_with_espeak(state_dir: Path, tmp_path: Path) -> None:
    wavs = tmp_path / "wavs"
    bus = await make_bus()
    sup = supervisor(bus, state_dir, ["speaker"], settings={"speaker": {"wav_dir": str(wavs)}})
    await sup.start()
    try:
        await wait_for(lambda: sup.states["speaker"].detail.get("spoken") == 0)
        bus.publish("SPEAK_WARNING", {"message": "Motion at the gate"}, source="edgetui://t/llm")
        await wait_for(lambda: sup.states["speaker"].detail.get("spoken") == 1)
        detail = sup.states["speaker"].detail
        assert detail["last_said"] == "Motion at the gate"
        wav = Path(detail["output"])
        assert wav.parent == wavs
        head, size = wav_head(wav)
        assert head[:4] == b"RIFF" and head[8:12] == b"WAVE"
        assert size > 1000
    finally:
        await sup.stop()
        await bus.stop()


async def test_speaker_without_espeak_logs_what_it_would_say(
    state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await make_bus()
    settings = {"speaker": {"command": "no-such-espeak-binary"}}
    sup = supervisor(bus, state_dir, ["speaker"], settings=settings)
    await sup.start()
    try:
        await wait_for(lambda: sup.states["speaker"].detail.get("spoken") == 0)
        assert sup.states["speaker"].detail["engine"].startswith("log only")
        bus.publish("SPEAK_WARNING", {"message": "Hello there"}, source="edgetui://t/llm")
        await wait_for(lambda: sup.states["speaker"].detail.get("spoken") == 1)
        assert "speaker would say: Hello there" in caplog.text
        assert sup.states["speaker"].restarts == 0
    finally:
        await sup.stop()
        await bus.stop()


async def test_sensor_simulates_motion_and_readings(state_dir: Path) -> None:
    bus = await make_bus()
    sub = bus.subscribe(["MOTION_DETECTED", "SOUND_LEVEL", "TEMPERATURE"], name="t")
    settings = {
        "sensor": {
            "simulate": True,
            "locations": ["attic"],
            "motion_interval_s": 0.1,
            "reading_interval_s": 0.1,
            "cpu_temperature_interval_s": 0,
            "seed": 3,
        }
    }
    sup = supervisor(bus, state_dir, ["sensor"], settings=settings)
    await sup.start()
    try:
        seen: dict[str, dict] = {}
        while len(seen) < 3:
            ev = await asyncio.wait_for(sub.get(), 10)
            seen[ev.type] = ev.data
        assert seen["MOTION_DETECTED"]["location"] == "attic"
        assert all(d["simulated"] is True for d in seen.values())
        assert isinstance(seen["SOUND_LEVEL"]["db"], float)
        assert ev.source == "edgetui://test-device/sensor"
    finally:
        await sup.stop()
        await bus.stop()


async def test_sensor_line_source_publishes_good_lines_and_counts_bad_ones(
    state_dir: Path, tmp_path: Path
) -> None:
    lines = tmp_path / "sensor.jsonl"
    lines.write_text(
        "\n".join(
            [
                json.dumps({"type": "MOTION_DETECTED", "data": {"location": "dock"}}),
                "this is not json",
                json.dumps({"data": {"location": "no type"}}),
                json.dumps({"type": "MOTION_DETECTED", "data": "not an object"}),
                json.dumps({"type": "MOTION_DETECTED", "data": {"blob": "x" * 70_000}}),
                json.dumps(["a", "list"]),
                json.dumps({"type": "TEMPERATURE", "celsius": 21.5}),  # flat form
            ]
        )
        + "\n"
    )
    bus = await make_bus()
    sub = bus.subscribe(["MOTION_DETECTED", "TEMPERATURE"], name="t")
    settings = {"sensor": {"source": str(lines), "cpu_temperature_interval_s": 0}}
    sup = supervisor(bus, state_dir, ["sensor"], settings=settings)
    await sup.start()
    try:
        first = await asyncio.wait_for(sub.get(), 10)
        second = await asyncio.wait_for(sub.get(), 10)
        assert first.type == "MOTION_DETECTED" and first.data == {"location": "dock"}
        assert second.type == "TEMPERATURE" and second.data == {"celsius": 21.5}
        await wait_for(lambda: sup.states["sensor"].detail.get("bad_lines") == 5)
        state = sup.states["sensor"]
        assert state.restarts == 0 and state.status == "idle" and state.last_error is None
        assert state.detail["published"] == 2
    finally:
        await sup.stop()
        await bus.stop()
