"""The metrics part: `/metrics` over HTTP (prometheus-client's server thread, off the event
loop) and a node_exporter textfile written atomically (temp, fsync, rename).

A `[metrics] listen` address that cannot be bound (another process holds the port: a
one-shot command of an older version, a second exporter) does not stop the part: it keeps
retrying with a growing backoff (1 s doubling to 60 s) and says so in its `metrics` section,
which the built-in alert `metrics_listen_failed` and the dashboard's header read.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from edgetui.cancel import cancel_and_wait
from edgetui.config import MetricsConfig
from edgetui.durable import atomic_write
from edgetui.metrics.collector import SnapshotCollector, render
from edgetui.metrics.latency import LatencyHistogram

log = logging.getLogger(__name__)

RETRY_MIN_S = 1.0
RETRY_MAX_S = 60.0


def bind_error(exc: OSError) -> str:
    """A bind failure in a few words ("address in use"), for the section and the alert."""
    if exc.errno == errno.EADDRINUSE:
        return "address in use"
    if exc.errno == errno.EACCES:
        return "permission denied"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "address not available"
    return exc.strerror or str(exc)


class MetricsExporter:
    """Service "metrics"; its section says whether `/metrics` is served (`listen.state`
    "serving", or "retrying" with the error, the attempts and the seconds to the next)."""

    name = "metrics"

    def __init__(
        self,
        config: MetricsConfig,
        latest: Callable[[], dict[str, Any] | None],
    ) -> None:
        self.config = config
        self.latest = latest
        self.latency = LatencyHistogram()
        self.collector = SnapshotCollector(latest, self.latency)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)  # type: ignore[arg-type]
        self._server: Any = None
        self._thread: Any = None
        self._written_at = 0.0
        self._writing: asyncio.Task[None] | None = None
        self._retrying: asyncio.Task[None] | None = None
        self.address: tuple[str, int] | None = None
        self.bind_error: str | None = None
        self.attempts = 0  # failed binds since the last success
        self.next_retry_at: float | None = None  # time.monotonic() of the next attempt

    async def start(self) -> None:
        """Bind `[metrics] listen`; when it fails, serve nothing yet and keep retrying."""
        if self.config.listen and not await self._bind():
            self._retrying = asyncio.create_task(self._retry_loop(), name="metrics-listen")

    async def _bind(self) -> bool:
        host, _, port = self.config.listen.rpartition(":")
        try:
            self._server, self._thread = await asyncio.to_thread(
                start_http_server, int(port), host.strip("[]"), self.registry
            )
        except OSError as exc:
            self.attempts += 1
            self.bind_error = bind_error(exc)
            # The first failure is news; the retries are in the section (and the alert).
            level = logging.WARNING if self.attempts == 1 else logging.DEBUG
            log.log(level, "metrics: cannot listen on %s: %s; retrying", self.config.listen, exc)
            return False
        self.address = self._server.server_address[:2]
        if self.attempts:
            log.warning(
                "metrics: listening on %s after %d failed attempts", self.config.listen,
                self.attempts,
            )  # fmt: skip
        self.attempts, self.bind_error, self.next_retry_at = 0, None, None
        log.info("metrics: serving http://%s:%s/metrics", *self.address)
        return True

    async def _retry_loop(self) -> None:
        delay = RETRY_MIN_S
        while True:
            self.next_retry_at = time.monotonic() + delay
            await asyncio.sleep(delay)
            if await self._bind():
                return
            delay = min(delay * 2.0, RETRY_MAX_S)

    def section(self) -> dict[str, Any]:
        """`listen` (None without `[metrics] listen`) and the textfile's path."""
        listen = None
        if self.config.listen:
            serving = self._server is not None
            wait = None
            if not serving and self.next_retry_at is not None:
                wait = round(max(0.0, self.next_retry_at - time.monotonic()), 1)
            listen = {
                "address": self.config.listen,
                "state": "serving" if serving else "retrying",
                "error": self.bind_error,
                "attempts": self.attempts,
                "next_retry_s": wait,
            }
        return {"listen": listen, "textfile": self.config.textfile or None}

    async def stop(self) -> None:
        await cancel_and_wait(self._retrying)
        self._retrying = None
        if self._writing is not None:
            await self._writing
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.shutdown)
            server.server_close()

    async def on_snapshot(self) -> None:
        """After each tick: feed the latency histogram; write the textfile when due."""
        snap = self.latest()
        if snap and isinstance(snap.get("inference"), dict):
            self.latency.observe_section(snap["inference"])
        if not self.config.textfile:
            return
        now = time.monotonic()
        busy = self._writing is not None and not self._writing.done()
        if busy or now - self._written_at < self.config.textfile_interval_s:
            return
        self._written_at = now
        self._writing = asyncio.create_task(asyncio.to_thread(self.write_textfile))

    def write_textfile(self) -> None:
        """Blocking: render and replace the textfile atomically (a power cut leaves the old
        or the new file, never half of one)."""
        try:
            atomic_write(Path(self.config.textfile).expanduser(), render(self.collector))
        except OSError as exc:
            log.warning("metrics: cannot write %s: %s", self.config.textfile, exc)
