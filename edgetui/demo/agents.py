"""Demo step: a simulated sensor so the agent chain runs on a bench machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def agents_step(state_dir: Path, config: dict[str, Any]) -> None:
    """Simulated motion and readings; speech goes to WAV files (no audio device assumed)."""
    agents = config.setdefault("agents", {})
    sensor = agents.setdefault("sensor", {})
    sensor.setdefault("simulate", True)
    sensor.setdefault("motion_interval_s", 20.0)
    sensor.setdefault("reading_interval_s", 10.0)
    speaker = agents.setdefault("speaker", {})
    speaker.setdefault("wav_dir", str(state_dir / "speech"))
