"""Read-only views of parts a one-shot command does not start (needs "*.inspect").

`ModelView` stands where the inference engine would: it reports, in the engine's section
shape, which model the engine would load and whether its file is a readable GGUF, and it
never loads it (llama.cpp is not even imported). The runtime holds it apart from the parts
(`Runtime.model_view`): `Runtime.inference` stays None, so nothing mistakes it for a model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.config import InferenceConfig
from edgetui.models.inference_section import InferenceSection

log = logging.getLogger(__name__)

NOT_LOADED = "not loaded: no daemon runs, and this one-shot command loads no model"


class ModelView:
    """Section "inference" of a runtime that loads no model: available is False (nothing
    here can decide), the reason says why; model, path, origin and version say what a
    daemon would load. The file's checksum is not computed (a status must stay cheap), so
    `sha256` is None."""

    name = "inference"

    def __init__(self, config: InferenceConfig, state_dir: Path) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.available = False
        self.unavailable_reason: str | None = "not started"
        self.model_name: str | None = None
        self.model_path: Path | None = None
        self.version: str | None = None
        self.origin = "none"
        self.sha256: str | None = None
        # What validation hands every engine (runtime/parts.py): no request ever completes
        # here, but the section extras (baseline, p95_ratio) still show what is recorded.
        self.listeners: list[Callable[[Any], None]] = []
        self.extras: list[Callable[[InferenceSection], dict[str, Any]]] = []

    async def start(self) -> None:
        self.unavailable_reason = await asyncio.to_thread(self._inspect)

    async def stop(self) -> None:
        return None

    def _inspect(self) -> str:
        """Blocking (reads slot.json and the GGUF header): why no model is available."""
        from edgetui.inference import ModelFileError, gguf_metadata
        from edgetui.inference.engine import choose_model

        choice = choose_model(self.config, self.state_dir)
        self.version, self.origin, self.model_path = choice.version, choice.origin, choice.path
        if choice.problem is not None:
            return choice.problem if choice.path is None else f"{choice.path}: {choice.problem}"
        if choice.path is None:
            return "no model configured (no active slot model and no model_path)"
        try:
            meta = gguf_metadata(choice.path)
        except ModelFileError as exc:
            return str(exc)
        self.model_name = str(meta.get("general.name") or choice.path.stem)
        return NOT_LOADED

    def section(self) -> InferenceSection:
        """The `inference` section, shaped like the engine's (no request, no worker)."""
        from edgetui.inference.engine import with_extras
        from edgetui.inference.stats import LatencyStats

        out = InferenceSection(
            available=False,
            reason=self.unavailable_reason,
            model=self.model_name,
            model_path=str(self.model_path) if self.model_path else None,
            origin=self.origin,
            version=self.version,
            sha256=None,
            load_ms=None,
            queue_size=self.config.queue_size,
            queued=0,
            prompt_format=None,
            last_decision=None,
            **LatencyStats().summary(),
        )
        return with_extras(out, self.extras)
