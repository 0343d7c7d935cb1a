"""Which GGUF a benchmark runs: the one given with --model, else the tiny generated one."""

from __future__ import annotations

import asyncio
from pathlib import Path


async def model_or_tiny(given: str | None, tmp: Path) -> Path:
    """`given` as a path, or the tiny random-weight model written into `tmp` (numpy, gguf)."""
    if given:
        return Path(given)
    from edgetui.inference.tiny_model import make_tiny_model

    return await asyncio.to_thread(make_tiny_model, tmp / "tiny.gguf")
