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
refuses (PostgreSQL stopped, a SQLite disk full) goes to the spool (spool.py) on local disk
and is replayed, before newer messages, once the store takes writes again (and first thing
after a restart). Without a spool, or when the spool itself cannot be written, it is kept in
memory and written again, up to `max_pending` messages.

With a `name` and `session_expiry_s` > 0 the MQTT session is persistent (MQTT 5: a client id
made from the name, Clean Start 0, a Session Expiry Interval): while the process is away the
broker keeps its subscriptions and queues its QoS 1 messages, and a process started again
with the same name gets them. Without a name the client id carries the pid, so a session
could never be resumed; it stays clean.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edgetui.fleet.messages import MessageError, Update, parse
from edgetui.fleet.mqtt import MqttAuth, make_client, process_name
from edgetui.fleet.spool import Message, Spool, SpoolError
from edgetui.fleet.store import DownsamplePolicy, FleetStore
from edgetui.models.broker import BrokerAddress
from edgetui.models.vocabulary import Topic, device_topic

log = logging.getLogger(__name__)

SHARED_SUFFIXES = (Topic.TELEMETRY, Topic.ALERTS, Topic.COMMAND_RESULT, Topic.AUDIT, Topic.RETRAIN)
REPLAY_CHUNK = 5000  # spooled messages written per store transaction
REPLAY_CHUNKS = 10  # chunks per writer turn, so that live messages are not held back long


def topics(group: str) -> list[str]:
    """What a fleet process in `group` subscribes to."""
    shared = [f"$share/{group}/{device_topic('+', s)}" for s in SHARED_SUFFIXES]
    return [*shared, device_topic("+", Topic.STATUS)]


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
    dropped: int = 0  # lost: past max_pending in memory, or the spool's oldest past its bound
    batches: int = 0
    pending: int = 0  # in memory, not yet written
    persistent: bool = False  # an MQTT session the broker keeps while this process is away
    session_present: bool = False  # the last CONNACK resumed a session
    spooled: int = 0  # refused by the store, written to the spool
    replayed: int = 0  # written to the store from the spool
    spool_dropped: int = 0  # of `dropped`: the spool's oldest, past its bound
    spool_messages: int = 0  # in the spool now
    spool_bytes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    last_rejected: str | None = None


class Ingest:
    """One fleet process's subscription and writer (start/stop from any thread)."""

    def __init__(
        self,
        store: FleetStore,
        broker: BrokerAddress,
        *,
        group: str = "edgetui-fleet",
        name: str | None = None,
        batch_s: float = 0.5,
        max_pending: int = 200_000,
        downsample_every_s: float = 60.0,
        policy: DownsamplePolicy | None = None,
        clock: Callable[[], float] = time.time,
        on_batch: Callable[[int], None] | None = None,
        spool: Spool | None = None,
        session_expiry_s: float = 0.0,
        auth: MqttAuth | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.group = group
        self.name = name or process_name()
        self.batch_s = batch_s
        self.max_pending = max_pending
        self.downsample_every_s = downsample_every_s
        self.policy = policy or DownsamplePolicy()
        self.clock = clock
        self.on_batch = on_batch
        self.spool = spool
        self.stats = IngestStats(self.name, group, str(broker))
        # A pid-made name never comes back, so its session could only be orphaned.
        self.session_expiry_s = session_expiry_s if name else 0.0
        self.stats.persistent = self.session_expiry_s > 0
        self._count_spool()
        self._pending: list[tuple[str, bytes, float]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._writer: threading.Thread | None = None
        self._last_downsample = 0.0
        self.client = make_client(broker, f"edgetui-fleet-{self.name}", auth=auth)
        self.client.reconnect_delay_set(0.5, 10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail

    # -- paho's thread -------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.stats.last_error = f"broker {self.broker} refused the connection: {rc}"
            return
        # Subscribed again even when the session was resumed: same topics, same options, so
        # the broker only replaces them (and a session it expired meanwhile gets them back).
        self.stats.session_present = bool(getattr(flags, "session_present", False))
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
        props = None
        if self.session_expiry_s > 0:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = int(min(self.session_expiry_s, 0xFFFFFFFF))
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=30,
            # False: resume the broker's session on every connect, the first one included.
            clean_start=not self.session_expiry_s,
            properties=props,
        )
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """True once connected and subscribed (the SUBACK is in), False after `timeout`."""
        return self._connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect, then write what is pending (or spool it), then stop the writer."""
        self.client.disconnect()
        self.client.loop_stop()
        self._stop.set()
        self._wake.set()
        if self._writer is not None:
            self._writer.join(timeout=30)
            self._writer = None
        if self.spool is not None:
            self.spool.close()

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
        """Replay the spool, then parse and write what is pending now; returns how many
        messages were written."""
        with self._lock:
            batch, self._pending = self._pending, []
        self.stats.pending = len(batch)
        written = 0
        if self.spool is not None and self.spool.messages:
            replayed = self._replay()
            if replayed is None:  # the store still refuses: do not try it again now
                self._refused(self._usable(batch)[1], None)
                return 0
            written += replayed
        if not batch:
            return written
        parsed, raw = self._usable(batch)
        try:
            self.store.apply(parsed, writer=self.name, now=self.clock())
        except Exception as exc:
            self._refused(raw, exc)
            return written
        self._written(parsed)
        self.stats.pending = 0
        return written + len(parsed)

    def _usable(self, batch: list[Message]) -> tuple[list[Update], list[Message]]:
        """The batch parsed, and the raw messages that parsed (what is worth spooling)."""
        parsed: list[Update] = []
        raw: list[Message] = []
        for item in batch:
            topic, payload, received = item
            try:
                parsed.append(parse(topic, payload, received))
            except MessageError as exc:
                self.stats.rejected += 1
                if self.stats.last_rejected != str(exc):
                    log.warning("fleet: %s", exc)
                self.stats.last_rejected = str(exc)
                continue
            raw.append(item)
        return parsed, raw

    def _written(self, parsed: list[Update]) -> None:
        self.stats.written += len(parsed)
        self.stats.batches += 1
        for u in parsed:
            kind = type(u).__name__.removesuffix("Update").lower()
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        if self.on_batch is not None:
            self.on_batch(len(parsed))

    def _replay(self) -> int | None:
        """Write the spool's oldest chunks to the store, deleting each once committed;
        how many were written, or None when the store refused."""
        assert self.spool is not None
        done = 0
        try:
            for _ in range(REPLAY_CHUNKS):
                upto, items = self.spool.oldest(REPLAY_CHUNK)
                if not items:
                    break
                parsed, _raw = self._usable(items)
                try:
                    self.store.apply(parsed, writer=self.name, now=self.clock())
                except Exception as exc:
                    self._store_error(exc, len(items))
                    return None
                # A crash right here writes this chunk again at the next start: harmless.
                self.spool.delete(upto)
                self._written(parsed)
                self.stats.replayed += len(parsed)
                done += len(parsed)
        except SpoolError as exc:  # cannot read or delete: say so, retry at the next turn
            self.stats.last_error = str(exc)
            log.warning("fleet: %s", exc)
        finally:
            self._count_spool()
        if done:
            log.info("fleet: replayed %d spooled messages (%d left)", done, self.spool.messages)
        return done

    def _store_error(self, exc: Exception, n: int) -> None:
        self.stats.last_error = f"store {self.store.where}: {' '.join(str(exc).split())}"
        log.warning("fleet: cannot write %d messages: %s", n, self.stats.last_error)

    def _refused(self, batch: list[Message], exc: Exception | None) -> None:
        """The store refused `batch` (exc: its error; None when the spool's replay was just
        refused): spool it, or, when there is no spool or it cannot be written, keep it in
        memory in front; then back off before trying the store again."""
        if exc is not None:
            self._store_error(exc, len(batch))
        if self.spool is not None and batch:
            try:
                dropped = self.spool.append(batch)
            except SpoolError as spool_exc:
                self.stats.last_error = f"{self.stats.last_error}; {spool_exc}"
                log.warning("fleet: %s: keeping %d messages in memory", spool_exc, len(batch))
            else:
                self.stats.spooled += len(batch)
                self.stats.spool_dropped += dropped
                self.stats.dropped += dropped
                if dropped:
                    log.warning("fleet: spool full: dropped its %d oldest messages", dropped)
                batch = []
            self._count_spool()
        self._keep(batch)
        self._stop.wait(1.0)  # back off before trying again

    def _count_spool(self) -> None:
        if self.spool is not None:
            self.stats.spool_messages, self.stats.spool_bytes = (
                self.spool.messages,
                self.spool.bytes,
            )

    def _keep(self, batch: list[Message]) -> None:
        """Keep `batch` in memory in front; drop the oldest past `max_pending`."""
        with self._lock:
            self._pending = batch + self._pending
            over = len(self._pending) - self.max_pending
            if over > 0:
                del self._pending[:over]
                self.stats.dropped += over
            self.stats.pending = len(self._pending)
