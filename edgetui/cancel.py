"""Stopping a part's background tasks."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(*tasks: asyncio.Task[object] | None) -> None:
    """Cancel `tasks` and wait until each has ended (a stop that returned leaves nothing
    running); their CancelledError ends here, any other error comes out."""
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    for task in live:
        with contextlib.suppress(asyncio.CancelledError):
            await task
