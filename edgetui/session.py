"""Choosing how a face reaches the runtime: attach to a daemon, else run it in-process."""

from __future__ import annotations

import logging
from pathlib import Path

from edgetui.api import RuntimeAPI
from edgetui.config import Config
from edgetui.control import RuntimeClient, socket_answers, socket_path
from edgetui.runtime import Runtime

log = logging.getLogger(__name__)


async def attach(state_dir: Path) -> RuntimeClient | None:
    """A client for the daemon serving `state_dir`, or None when no daemon answers."""
    path = socket_path(state_dir)
    if not socket_answers(path):
        return None
    try:
        return await RuntimeClient.connect(path)
    except OSError:
        return None


async def open_api(config: Config, state_dir: Path, *, standalone: bool = False) -> RuntimeAPI:
    """Attach to a running daemon when its socket answers; otherwise start the runtime here."""
    if not standalone:
        client = await attach(state_dir)
        if client is not None:
            return client
        log.info(
            "no daemon answers on %s: running the runtime in-process (standalone)",
            socket_path(state_dir),
        )
    runtime = Runtime(config, state_dir, mode="standalone")
    await runtime.start()
    return runtime
