"""Ingest: devices' messages from the broker into the fleet store, in batches, off any
event loop.

- Telemetry, alerts, command results, audit and retraining samples come through MQTT 5
  shared subscriptions
  (`$share/<group>/devices/+/<suffix>`): every fleet process in the group gets a share, so
  several processes split a large fleet on a broker cluster.
- Status comes through a plain subscription to `devices/+/status`: a broker does not send
  retained messages to a shared subscription (MQTT 5, 4.8.2), and the retained status is how
  a fleet process that starts late learns who is online. Statuses are few and idempotent, so
  every process writing all of them costs nothing.

paho's network thread only appends (topic, payload, time) to a list; one writer thread
parses, coalesces and writes a batch every `batch_s` in one transaction. A batch the store
refuses (PostgreSQL restarting, say) is kept and written again, up to `max_pending` messages.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from edgetui.fleet.messages import MessageError, Update, parse
from edgetui.fleet.mqtt import Broker, make_client
from edgetui.fleet.store import DownsamplePolicy, FleetStore

log = logging.getLogger(__name__)

SHARED_SUFFIXES = ("telemetry", "alerts", "commands/result", "audit", "retrain")


def topics(group: str) -> list[str]:
    """What a fleet process in `group` subscribes to."""
    shared = [f"$share/{group}/devices/+/{s}" for s in SHARED_SUFFIXES]
    return [*shared, "devices/+/status"]


def default_name() -> str:
    """This fleet process's name in the store (`ingested_by`) and in its client id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class IngestStats:
    """What the ingest did so far (`fleet status --json` → `ingest`)."""

    name: str
    group: str
    broker: str
    connected: bool = False
    received: int = 0
    written: int = 0
    rejected: int = 0  # messages the fleet could not use (one line each in the log)
    dropped: int = 0  # kept past max_pending while the store refused writes
    batches: int = 0
    pending: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    last_rejected: str | None = None


class Ingest:
    """One fleet process's subscription and writer (start/stop from any thread)."""

    def __init__(
        self,
        store: FleetStore,
        broker: Broker,
        *,
        group: str = "edgetui-fleet",
        name: str | None = None,
        batch_s: float = 0.5,
        max_pending: int = 200_000,
        downsample_every_s: float = 60.0,
        policy: DownsamplePolicy | None = None,
        clock: Callable[[], float] = time.time,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.group = group
        self.name = name or default_name()
        self.batch_s = batch_s
        self.max_pending = max_pending
        self.downsample_every_s = downsample_every_s
        self.policy = policy or DownsamplePolicy()
        self.clock = clock
        self.on_batch = on_batch
        self.stats = IngestStats(self.name, group, str(broker))
        self._pending: list[tuple[str, bytes, float]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._writer: threading.Thread | None = None
        self._last_downsample = 0.0
        self.client = make_client(broker, f"edgetui-fleet-{self.name}")
        self.client.reconnect_delay_set(0.5, 10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail

    # -- paho's thread -------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.stats.last_error = f"broker {self.broker} refused the connection: {rc}"
            return
        client.subscribe([(t, SubscribeOptions(qos=1)) for t in topics(self.group)])
        self.stats.connected = True

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        # paho retries by itself (reconnect_delay_set); say why meanwhile.
        self.stats.last_error = f"cannot connect to the broker {self.broker} (retrying)"

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        # A broker without shared subscriptions (or an ACL) refuses a topic in the SUBACK.
        for topic, code in zip(topics(self.group), codes, strict=False):
            if code.is_failure:
                self.stats.last_error = f"broker {self.broker} refused {topic}: {code}"
                log.warning("fleet: %s", self.stats.last_error)
        # Ready once the broker has answered the subscriptions: what is published from
        # now on reaches this process (waiting only for the CONNACK lost the first messages).
        self._connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.stats.connected = False
        self._connected.clear()
        if rc.is_failure:
            self.stats.last_error = f"lost the broker {self.broker}: {rc}"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        item = (msg.topic, msg.payload, self.clock())
        with self._lock:
            self._pending.append(item)
        self.stats.received += 1

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Connect (in paho's thread, reconnecting by itself) and start the writer."""
        self._writer = threading.Thread(target=self._write_loop, name="fleet-writer", daemon=True)
        self._writer.start()
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """True once connected and subscribed (the SUBACK is in), False after `timeout`."""
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect, then write what is pending, then stop the writer."""
        self.client.disconnect()
        self.client.loop_stop()
        self._stop.set()
        self._wake.set()
        if self._writer is not None:
            self._writer.join(timeout=30)
            self._writer = None

    # -- the writer thread ---------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            stopping = self._stop.wait(self.batch_s)
            self.flush()
            if stopping:
                self.flush()
                return
            now = self.clock()
            if self.downsample_every_s and now - self._last_downsample >= self.downsample_every_s:
                self._last_downsample = now
                try:
                    self.store.downsample(now, self.policy)
                except Exception as exc:
                    self.stats.last_error = f"downsample: {exc}"
                    log.warning("fleet: downsample failed: %s", exc)

    def flush(self) -> int:
        """Parse and write what is pending now; returns how many messages were written."""
        with self._lock:
            batch, self._pending = self._pending, []
        self.stats.pending = len(batch)
        if not batch:
            return 0
        parsed: list[Update] = []
        for topic, payload, received in batch:
            try:
                parsed.append(parse(topic, payload, received))
            except MessageError as exc:
                self.stats.rejected += 1
                if self.stats.last_rejected != str(exc):
                    log.warning("fleet: %s", exc)
                self.stats.last_rejected = str(exc)
        try:
            self.store.apply(parsed, writer=self.name, now=self.clock())
        except Exception as exc:
            self._keep(batch, exc)
            return 0
        self.stats.written += len(parsed)
        self.stats.batches += 1
        self.stats.pending = 0
        for u in parsed:
            kind = type(u).__name__.removesuffix("Update").lower()
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        if self.on_batch is not None:
            self.on_batch(len(parsed))
        return len(parsed)

    def _keep(self, batch: list[tuple[str, bytes, float]], exc: Exception) -> None:
        """The store refused the batch: keep it in front, drop the oldest past the bound."""
        self.stats.last_error = f"store {self.store.where}: {' '.join(str(exc).split())}"
        log.warning("fleet: cannot write %d messages: %s", len(batch), self.stats.last_error)
        with self._lock:
            self._pending = batch + self._pending
            over = len(self._pending) - self.max_pending
            if over > 0:
                del self._pending[:over]
                self.stats.dropped += over
            self.stats.pending = len(self._pending)
        self._stop.wait(1.0)  # back off before trying again
