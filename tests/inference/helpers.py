"""Helpers for engine tests: an engine on a given model/slot, and a slot directory."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from edgetui.config import InferenceConfig
from edgetui.inference.engine import InferenceEngine


def make_slot(state_dir: Path, model: Path | None, sha256: str | None, version: str = "1.2.3"):
    """slots/a with slot.json (+ copy of the model) and slots/current -> a."""
    slot = state_dir / "slots" / "a"
    (slot / "model").mkdir(parents=True)
    record: dict[str, object] = {"version": version}
    if model is not None:
        shutil.copy(model, slot / "model" / "m.gguf")
        record["model"] = "model/m.gguf"
    if sha256 is not None:
        record["model_sha256"] = sha256
    (slot / "slot.json").write_text(json.dumps(record))
    os.symlink("a", state_dir / "slots" / "current")
    return slot


async def started_engine(state_dir: Path, **cfg: object) -> InferenceEngine:
    config = InferenceConfig(**cfg)  # type: ignore[arg-type]
    engine = InferenceEngine(config, state_dir)
    await engine.start()
    return engine
