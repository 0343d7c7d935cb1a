"""MQTT bridge for the bus: local events go out to `devices/<id>/bus/<type>`; messages other
processes publish there come in, are validated as CloudEvents, and join the local bus.

paho runs its own network thread; inbound messages are parsed there (off the event loop)
and handed to the loop with call_soon_threadsafe. A broker that is down only stops the
bridge: the bus keeps working locally and paho reconnects on its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edgetui.bus.envelope import EnvelopeError, event_dict, event_from_dict
from edgetui.models.broker import parse_broker
from edgetui.models.event import Event
from edgetui.models.untrusted import clip
from edgetui.models.vocabulary import Topic, device_topic

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024
_SEEN_IDS = 4096  # ids we sent or received recently, to break echo loops


class Feed(Protocol):
    """A subscription as the bridge uses it: iterate over events, close when done."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    def close(self) -> None: ...


class LocalBus(Protocol):
    """What the bridge needs of the bus: a subscription to every event, and a way in."""

    def subscribe(self, types: str = "*", *, name: str) -> Feed: ...

    def publish_event(self, event: Event) -> None: ...


class MqttBridge:
    """Bridges one local bus to a broker under devices/<device_id>/bus/."""

    def __init__(
        self,
        bus: LocalBus,
        url: str,
        device_id: str,
        *,
        max_bytes: int = MAX_MESSAGE_BYTES,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
    ) -> None:
        self.bus = bus
        self.url = url
        self.device_id = device_id
        self.max_bytes = max_bytes
        self.prefix = device_topic(device_id, Topic.BUS) + "/"
        self.state = "connecting"
        self.last_error: str | None = None
        self.sent = 0
        self.received = 0
        self.send_failed = 0
        self.connects = 0
        self.rejected: collections.Counter[str] = collections.Counter()
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self._lock = threading.Lock()  # guards the seen-id ring and counters set off-loop
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._sub = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            address = parse_broker(self.url)
        except ValueError as exc:
            self.state, self.last_error = "error", f"[bus] bridge_url: {exc}"
            log.error("%s; the bus runs without a bridge", self.last_error)
            return
        # tls_set() reads the system's CA certificates: off the event loop.
        client = await asyncio.to_thread(self._new_client, address.tls)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.reconnect_delay_set(*self._reconnect)  # type: ignore[arg-type]
        client.connect_async(address.host, address.port, keepalive=30)
        client.loop_start()  # retries the first connection too, in paho's thread
        self._client = client
        self._sub = self.bus.subscribe("*", name="bridge")
        self._task = asyncio.create_task(self._send_loop(), name="bus-bridge-out")

    def _new_client(self, tls: bool) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"edgetui-bus-{self.device_id}-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        if tls:
            client.tls_set()
        return client

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            # Let queued events go out while connected, then stop.
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=1.0)
            self._task = None
        if self._client is not None:
            client, self._client = self._client, None
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        self.state = "stopped"

    # -- outbound ---------------------------------------------------------------------
    async def _send_loop(self) -> None:
        assert self._sub is not None
        async for event in self._sub:
            if self._was_seen(event.id):
                continue  # it came from the broker: other processes already have it
            self._send(event)

    def _send(self, event: Event) -> None:
        client = self._client
        if client is None or self.state != "connected":
            self.send_failed += 1
            return
        payload = json.dumps(event_dict(event), separators=(",", ":")).encode()
        self._remember(event.id)
        info = client.publish(self.prefix + event.type, payload, qos=0)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.sent += 1
        else:
            self.send_failed += 1

    # -- inbound (paho's thread) ------------------------------------------------------
    def _on_message(self, _client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            event = self._decode(msg.topic, msg.payload)
        except EnvelopeError as exc:
            self._call(self._reject, exc.reason, msg.topic, str(exc))
            return
        except Exception as exc:  # never let a bad message kill paho's thread
            self._call(self._reject, "error", msg.topic, repr(exc))
            return
        if event is None:
            return  # our own message coming back
        self._call(self._accept, event)

    def _decode(self, topic: str, payload: bytes) -> Event | None:
        if len(payload) > self.max_bytes:
            raise EnvelopeError("too_large", f"{len(payload)} bytes > limit {self.max_bytes}")
        try:
            obj = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError("not_json", f"not JSON: {exc}") from None
        except RecursionError:
            raise EnvelopeError("not_json", "not JSON: nested too deeply") from None
        event = event_from_dict(obj)
        topic_type = topic.removeprefix(self.prefix)
        if topic_type != event.type:
            raise EnvelopeError(
                "type_mismatch",
                f"type {clip(event.type)} published on topic for {clip(topic_type)}",
            )
        if self._was_seen(event.id):
            return None
        self._remember(event.id)
        return event

    def _call(self, fn: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing under us
                loop.call_soon_threadsafe(fn, *args)

    def _accept(self, event: Event) -> None:
        try:
            self.bus.publish_event(event)
        except EnvelopeError as exc:
            self._reject(exc.reason, self.prefix + event.type, str(exc))
            return
        self.received += 1

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.rejected[reason] += 1
        total = sum(self.rejected.values())
        if total <= 10 or total % 100 == 0:  # a flood must not flood the log too
            log.warning("bus bridge dropped a message on %s (%s): %s", topic, reason, detail)

    def _remember(self, event_id: str) -> None:
        with self._lock:
            self._seen[event_id] = None
            while len(self._seen) > _SEEN_IDS:
                self._seen.popitem(last=False)

    def _was_seen(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._seen

    # -- connection state (paho's thread) ---------------------------------------------
    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self._call(self._set_state, "disconnected", f"broker refused: {reason}")
            return
        # no_local: the broker does not send our own publications back to us.
        client.subscribe(self.prefix + "+", options=SubscribeOptions(qos=0, noLocal=True))

    def _on_subscribe(self, _c: Any, _u: Any, _mid: int, codes: list[Any], _p: Any) -> None:
        # "connected" once the SUBACK is in: before it, the broker would drop what another
        # process publishes for this bus.
        refused = [str(c) for c in codes if c.is_failure]
        error = f"broker refused the subscription: {refused[0]}" if refused else None
        self._call(self._set_state, "connected", error)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._call(self._set_state, "disconnected", f"disconnected: {reason}")

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self._call(self._set_state, "disconnected", "cannot connect to the broker")

    def _set_state(self, state: str, error: str | None) -> None:
        if self._client is None and state != "connected":
            return  # stopping
        if state == "connected":
            self.connects += 1
            log.info("bus bridge connected to %s", self.url)
        elif self.state == "connected":
            log.warning("bus bridge lost %s: %s (the bus keeps working locally)", self.url, error)
        self.state = state
        if error:
            self.last_error = error

    def section(self) -> dict[str, Any]:
        try:
            shown = str(parse_broker(self.url))
        except ValueError:  # a bad URL is shown as given, less any credentials in it
            scheme, sep, rest = self.url.partition("://")
            shown = f"{scheme}{sep}{rest.rpartition('@')[2]}"
        return {
            "state": self.state,
            "url": shown,  # without credentials
            "topic": self.prefix + "<type>",
            "sent": self.sent,
            "received": self.received,
            "send_failed": self.send_failed,
            "connects": self.connects,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected),
            "last_error": self.last_error,
        }
