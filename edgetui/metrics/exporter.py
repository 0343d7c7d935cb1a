"""The metrics part: `/metrics` over HTTP (prometheus-client's server thread, off the event
loop) and a node_exporter textfile written atomically (temp, fsync, rename)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from edgetui.config import MetricsConfig
from edgetui.durable import atomic_write
from edgetui.metrics.collector import SnapshotCollector, render
from edgetui.metrics.latency import LatencyHistogram

log = logging.getLogger(__name__)


class MetricsExporter:
    """Service "metrics" (no status section of its own)."""

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
        self.address: tuple[str, int] | None = None

    async def start(self) -> None:
        if self.config.listen:
            host, _, port = self.config.listen.rpartition(":")
            self._server, self._thread = await asyncio.to_thread(
                start_http_server, int(port), host.strip("[]"), self.registry
            )
            self.address = self._server.server_address[:2]
            log.info("metrics: serving http://%s:%s/metrics", *self.address)

    async def stop(self) -> None:
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
