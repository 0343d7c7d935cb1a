"""Choosing how a face reaches the runtime: attach to a daemon, else run it in-process."""

from __future__ import annotations

import logging
from pathlib import Path

from edgetui.api import RuntimeAPI
from edgetui.config import Config
from edgetui.control import RuntimeClient, socket_answers, socket_path
from edgetui.runtime import Runtime

log = logging.getLogger(__name__)


async def attach(state_dir: Path, *, via: str | None = None) -> RuntimeClient | None:
    """A client for the daemon serving `state_dir`, or None when no daemon answers.
    `via` (cli, tui, kiosk) names the face in the daemon's audit records."""
    path = socket_path(state_dir)
    if not socket_answers(path):
        return None
    try:
        return await RuntimeClient.connect(path, via=via)
    except (OSError, TimeoutError):
        return None


async def open_api(
    config: Config,
    state_dir: Path,
    *,
    standalone: bool = False,
    via: str = "cli",
    needs: frozenset[str] | None = None,
) -> RuntimeAPI:
    """Attach to a running daemon when its socket answers; otherwise start the runtime here
    (as the invoking user, with that user's [access] role) with only the parts in `needs`
    (edgetui.runtime.needs; None: every part, as the daemon and the dashboard run)."""
    if not standalone:
        client = await attach(state_dir, via=via)
        if client is not None:
            return client
        log.info(
            "no daemon answers on %s: running the runtime in-process (standalone)",
            socket_path(state_dir),
        )
    runtime = Runtime(config, state_dir, mode="standalone", needs=needs)
    runtime.local_caller.via = via
    await runtime.start()
    return runtime
