"""The MQTT uplink (service "buffer"): drains the outbox to the broker and reports the
buffer and the connection as the snapshot's `buffer` section.

Once connected, the client belongs to the drain thread, which runs its network loop and
the drain together (`drain.py`); its callbacks hop onto the event loop with
`call_soon_threadsafe`. Connecting (DNS, TCP, TLS, CONNACK) blocks, so it
runs in a worker thread. Failures are classified into words (`errors.py`) and retried
with exponential backoff and jitter; `buffer.retry` skips the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from edgetui.api import APIError
from edgetui.cancel import cancel_and_wait
from edgetui.config import UplinkConfig
from edgetui.models.broker import BrokerAddress, parse_broker
from edgetui.models.buffer_section import BufferSection, Connection, Drain, UplinkState
from edgetui.models.clock import rfc3339
from edgetui.models.vocabulary import Topic, device_topic
from edgetui.store import TOPIC_SUFFIX, Outbox, StoreError
from edgetui.uplink.client import ErrorLog, abandon, connect_blocking, make_client, pump
from edgetui.uplink.drain import Drainer
from edgetui.uplink.errors import ConnectFailed, LinkError, classify_lost

log = logging.getLogger("edgetui.uplink")

STOP_GRACE_S = 1.0  # on a stop, how long to wait for the PUBACKs of messages in flight


def _iso(ts: float | None) -> str | None:
    return None if ts is None else rfc3339(ts, timespec="seconds")


class Uplink:
    """Connects, drains, reconnects; `section()` is the dashboard's "Buffer & uplink"."""

    name = "buffer"

    def __init__(
        self,
        config: UplinkConfig,
        store: Outbox,
        *,
        device_id: str,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
        on_command: Callable[[bytes], None] | None = None,
        connect_timeout: float = 10.0,
        keepalive: int = 30,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.store = store
        self.device_id = device_id
        self.notify = notify or (lambda kind, data: None)
        # Commands are verified and run by edgetui.remote's RemoteCommands (handed in by
        # the runtime); without it, they are logged and ignored.
        self.on_command = on_command
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive  # s; the broker drops us after 1.5x this without a packet
        self.rng = rng
        self.client_id = config.client_id or f"edgetui-{device_id}"
        self.status_topic = device_topic(device_id, Topic.STATUS)
        self.commands_topic = device_topic(device_id, Topic.COMMANDS)
        self.address: BrokerAddress | None = None
        self.state = "stopped"  # no_broker | connecting | connected | backoff | error | stopped
        self.error: LinkError | None = None
        self.error_at: float | None = None
        self.connected_since: float | None = None
        self.retry_at: float | None = None
        self.attempts = 0
        self.drainer = Drainer(
            store,
            config.inflight,
            self.topic_for,
            self._progress,
            self._broker_refused,
            keepalive=keepalive,
        )
        self._client: mqtt.Client | None = None
        self._gen = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._retry = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost_error: LinkError | None = None
        self._changed = asyncio.Event()
        self._errors = ErrorLog()

    def topic_for(self, kind: str) -> str:
        return device_topic(self.device_id, TOPIC_SUFFIX[kind])

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.config.url:
            self.state = "no_broker"
            log.info("uplink: no broker configured ([uplink] url is empty): buffering only")
            return
        try:
            self.address = parse_broker(self.config.url)
        except ValueError as exc:
            self.state = "error"
            self._set_error(LinkError("config_error", f"[uplink] url: {exc}"))
            log.error("uplink: [uplink] url: %s", exc)
            return
        self.state = "connecting"
        self.drainer.start(self._loop)
        self._task = asyncio.create_task(self._run(), name="uplink")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await asyncio.to_thread(self.drainer.stop)
        client, self._client = self._client, None
        self._gen += 1
        if client is not None:
            await asyncio.to_thread(self._goodbye, client)
        self.state = "stopped" if self.state != "no_broker" else self.state

    def _goodbye(self, client: mqtt.Client) -> None:
        """Clean disconnect: say `offline` ourselves (a clean DISCONNECT skips the will).
        Blocking; the drain thread has let go of the client."""
        with contextlib.suppress(Exception):
            info = client.publish(self.status_topic, "offline", qos=1, retain=True)
            deadline = time.monotonic() + 1.0
            while not info.is_published() and time.monotonic() < deadline:
                if pump(client, 0.05) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    break
        with contextlib.suppress(Exception):
            client.disconnect()  # written at once; paho closes the socket after it

    # -- the connection loop ----------------------------------------------------------
    async def _run(self) -> None:
        assert self.address is not None
        failures = 0
        while True:
            self.state = "connecting"
            self.attempts += 1
            self._changed.set()
            try:
                client = await asyncio.to_thread(self._connect)
            except ConnectFailed as exc:
                failures += 1
                self._set_error(exc.error)
                await self._backoff(failures)
                continue
            failures = 0
            self._lost.clear()
            self._client = client
            self.state = "connected"
            self.connected_since = time.time()
            self._changed.set()
            log.info("uplink: connected to %s as %s", self.address, self.client_id)
            self.drainer.attach(client, functools.partial(self._on_lost, self._gen))
            try:
                await self._lost.wait()
            finally:
                # On a stop, the PUBACKs of what is in flight are awaited (up to a second)
                # so the next start does not send it again; a lost link lets go at once.
                await asyncio.to_thread(self.drainer.detach, STOP_GRACE_S)
            self._gen += 1  # late callbacks of this client are ignored from now on
            self._client = None
            self.connected_since = None
            abandon(client)
            failures = 1
            self._set_error(self._lost_error or LinkError("connection_lost", "connection lost"))
            await self._backoff(failures)

    def _connect(self) -> mqtt.Client:
        """Blocking: build a fresh client, connect, wire the callbacks, start its thread."""
        assert self.address is not None and self._loop is not None
        self._errors = ErrorLog()
        client = make_client(self.config, self.client_id, self.address, self.status_topic)
        connect_blocking(
            client,
            self.address,
            self.connect_timeout,
            self._errors,
            has_cert=bool(self.config.cert_file),
            keepalive=self.keepalive,
        )
        gen = self._gen + 1
        loop = self._loop

        def on_disconnect(c: Any, u: Any, flags: Any, rc: Any, props: Any) -> None:
            loop.call_soon_threadsafe(self._on_lost, gen, rc)

        def on_message(c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
            loop.call_soon_threadsafe(self._on_command, gen, msg.topic, bytes(msg.payload))

        client.on_disconnect = on_disconnect
        client.on_message = on_message
        self._gen = gen
        client.subscribe(self.commands_topic, qos=1)
        client.publish(self.status_topic, "online", qos=1, retain=True)
        return client

    def backoff_delay(self, failures: int, jitter: float) -> float:
        """Exponential backoff with jitter: min * 2^(n-1), capped at max, then 50-100 % of
        it (`jitter` in [0, 1]), so a fleet that lost the broker does not come back in step."""
        base = min(self.config.backoff_max_s, self.config.backoff_min_s * 2 ** (failures - 1))
        return base * (0.5 + 0.5 * jitter)

    async def _backoff(self, failures: int) -> None:
        delay = self.backoff_delay(failures, self.rng())
        self.state = "backoff"
        self.retry_at = time.time() + delay
        self._changed.set()
        self._retry.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._retry.wait(), timeout=delay)
        self.retry_at = None

    def _set_error(self, err: LinkError) -> None:
        if self.error is None or self.error.message != err.message:
            log.warning("uplink: %s", err.message)
        self.error, self.error_at = err, time.time()

    # -- callbacks bridged from paho's thread -----------------------------------------
    def _on_lost(self, gen: int, rc: Any) -> None:
        # Reported twice: paho's on_disconnect (with the broker's reason, if it gave one)
        # and then the drain thread's error code. The first report is the one that says why.
        if gen != self._gen or self._lost.is_set():
            return
        assert self.address is not None
        err = classify_lost(
            self._errors.last, self.address.where, self.address.tls, before_connack=False
        )
        if rc is not None and getattr(rc, "is_failure", False) and getattr(rc, "value", 0) != 128:
            err = LinkError("connection_lost", f"broker disconnected us: {rc}")
        self._lost_error = err
        self._lost.set()

    def _on_command(self, gen: int, topic: str, payload: bytes) -> None:
        # No unsigned command is obeyed here (the old `{"command": "flush"}` is gone): each
        # goes to the signed-command verifier, which refuses or runs it.
        if gen != self._gen:
            return
        if self.on_command is None:
            log.warning("uplink: command on %s ignored: remote commands are not running", topic)
            return
        self.on_command(payload)

    def _broker_refused(self, message: str) -> None:
        self._set_error(LinkError("broker_error", message))

    def _progress(self) -> None:
        self._changed.set()

    # -- operations -------------------------------------------------------------------
    def retry_now(self) -> dict[str, Any]:
        """Skip the backoff wait and connect now."""
        self._retry.set()
        self.drainer.wake()
        return {"state": self.state, "broker": str(self.address) if self.address else None}

    def drill_redirect(self, url: str | None) -> None:
        """Fire-drill hook (`edgetui drill uplink-offline`): drop the link and connect to
        `url` (a dead port) instead; None goes back to the configured broker at once."""
        if self._task is None:
            raise RuntimeError("no broker configured: the uplink is not running")
        self.address = parse_broker(url or self.config.url)
        if self._client is not None and not self._lost.is_set():
            self._lost_error = LinkError("connection_lost", "link dropped by a fire drill")
            self._lost.set()
        self._retry.set()

    async def flush(self, timeout: float = 30.0) -> dict[str, Any]:
        """Drain now and wait until the outbox is empty or `timeout` passed."""
        started = time.monotonic()
        sent0 = self.store.stats.sent
        if self.state in ("backoff", "connecting"):
            self.retry_now()
        else:
            self.drainer.wake()
        while self.store.queued() and self.state not in ("no_broker", "error", "stopped"):
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))
        remaining = self.store.queued()
        out = {
            "ok": remaining == 0,
            "sent": self.store.stats.sent - sent0,
            "remaining": remaining,
            "waited_s": round(time.monotonic() - started, 2),
            "state": self.state,
            "last_error": self.error.message if self.error and remaining else None,
        }
        if self.state == "no_broker":
            out["last_error"] = "no broker configured"
        elif remaining and self.store.stats.unreadable:  # kept, never sent: say so
            out["last_error"] = self.store.stats.last_unreadable
        return out

    def section(self) -> BufferSection:
        """The `buffer` section: connection, queue figures, counters, last error."""
        now = time.time()
        conn = Connection(
            state=UplinkState(self.state),
            state_text=self.state_text(),
            broker=str(self.address) if self.address else None,
            client_id=self.client_id,
            mqtt_version=self.config.mqtt_version,
            connected_since=_iso(self.connected_since),
            retry_in_s=round(max(0.0, self.retry_at - now), 1) if self.retry_at else None,
            attempts=self.attempts,
            error_kind=self.error.kind if self.error else None,
            last_error=self.error.message if self.error else None,
            last_error_at=_iso(self.error_at),
        )
        d = self.drainer
        drain = Drain(d.inflight, d.window, d.send_rate())
        return BufferSection.of(
            conn, self.store.stats, drain, self.store.encryption_section(), now=now
        )

    def state_text(self) -> str:
        if self.state == "no_broker":
            return "no broker configured"
        if self.state == "connected":
            return f"connected to {self.address}"
        if self.state == "connecting":
            return f"connecting to {self.address}"
        if self.state == "backoff":
            why = f" ({self.error.kind.replace('_', ' ')})" if self.error else ""
            return f"not connected{why}; retrying"
        if self.state == "error":
            return self.error.message if self.error else "error"
        return self.state

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        async def stats(_: dict[str, Any]) -> BufferSection:
            await self.store.refresh_oldest()
            return self.section()

        async def flush(params: dict[str, Any]) -> dict[str, Any]:
            timeout = params.get("timeout", 30.0)
            if not isinstance(timeout, int | float) or timeout < 0:
                raise APIError("buffer.flush: timeout must be a number >= 0", code=-32602)
            return await self.flush(float(timeout))

        async def retry(_: dict[str, Any]) -> dict[str, Any]:
            return self.retry_now()

        async def export(params: dict[str, Any]) -> dict[str, Any]:
            out = params.get("out")
            if not isinstance(out, str) or not out:
                raise APIError("buffer.export needs params.out (a file path)", code=-32602)
            try:
                return await self.store.export(
                    out,
                    remove=bool(params.get("remove", False)),
                    decrypt=bool(params.get("decrypt", False)),
                )
            except (OSError, StoreError) as exc:
                raise APIError(f"export to {out} failed: {exc}") from None

        async def rotate_key(_: dict[str, Any]) -> dict[str, Any]:
            try:
                return await self.store.rotate_key()
            except StoreError as exc:
                raise APIError(f"buffer.rotate_key: {exc}") from None

        return {
            "buffer.stats": stats,
            "buffer.flush": flush,
            "buffer.retry": retry,
            "buffer.export": export,
            "buffer.rotate_key": rotate_key,
        }
