"""WARNING and above from Python logging, into the outbox as "log" messages.

`emit()` may run on any thread and never blocks: it formats the record, appends it to a
bounded buffer and wakes a task on the event loop that enqueues it. Records logged while
that task is enqueuing (e.g. the store's own "disk full" warning) are not fed back in, so
a failing outbox cannot make the handler recurse; the handler's own failures are counted,
never logged.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from edgetui.cancel import cancel_and_wait
from edgetui.models.clock import rfc3339

_feeding: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "edgetui_log_feeding", default=False
)

Enqueue = Callable[[str, dict[str, Any]], Awaitable[Any]]


class OutboxLogHandler(logging.Handler):
    """A logging handler feeding the outbox; also keeps the recent records for telemetry."""

    def __init__(
        self,
        enqueue: Enqueue,
        device_id: str,
        *,
        level: int = logging.WARNING,
        capacity: int = 1000,
        recent: int = 20,
    ) -> None:
        super().__init__(level)
        self._enqueue = enqueue
        self.device_id = device_id
        self._buf: deque[dict[str, Any]] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._recent: deque[dict[str, Any]] = deque(maxlen=recent)
        self.dropped = 0  # overflowed the buffer or failed to enqueue
        self.failures = 0

    # -- lifecycle (on the event loop) --------------------------------------------------
    def install(self, logger: logging.Logger | None = None) -> None:
        """Attach to `logger` (root by default) and start the feeding task."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._feed(), name="log-outbox")
        (logger or logging.getLogger()).addHandler(self)

    async def uninstall(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self)
        await cancel_and_wait(self._task)
        self._task = None

    def take_recent(self) -> list[dict[str, Any]]:
        """Records since the previous call ({level, message, time}), for a telemetry message."""
        with self._lock:
            out = list(self._recent)
            self._recent.clear()
        return [{"level": r["level"], "message": r["message"], "time": r["timestamp"]} for r in out]

    # -- any thread ---------------------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        if _feeding.get():
            return
        try:
            msg = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                msg += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            entry = {
                "timestamp": rfc3339(record.created),
                "device_id": self.device_id,
                "level": record.levelname,
                "logger": record.name,
                "message": msg[:2000],
            }
            with self._lock:
                self._recent.append(entry)
                if len(self._buf) >= self._capacity:
                    self._buf.popleft()
                    self.dropped += 1
                self._buf.append(entry)
            loop = self._loop
            if loop is not None and not loop.is_closed() and self._wake is not None:
                if _on_loop(loop):
                    self._wake.set()
                else:
                    loop.call_soon_threadsafe(self._wake.set)
        except Exception:
            self.failures += 1  # never log from here: that could recurse

    def handleError(self, record: logging.LogRecord) -> None:
        self.failures += 1

    # -- the feeding task ---------------------------------------------------------------
    async def _feed(self) -> None:
        assert self._wake is not None
        _feeding.set(True)  # this task's context only: its own log lines are not fed back
        while True:
            await self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._buf:
                        break
                    entry = self._buf.popleft()
                try:
                    await self._enqueue("log", entry)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.dropped += 1  # the store already counted and logged why


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
