"""A real MQTT subscriber for uplink tests: records every message's topic and seq."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Collector:
    """Subscribes to `devices/#` at QoS 1 and keeps (topic, payload) in arrival order.

    `persistent=True` uses a fixed client id and a non-clean session, so messages queued
    for it while it is away (broker restarts with persistence) are delivered later."""

    def __init__(
        self,
        host: str,
        port: int,
        topic: str = "devices/#",
        *,
        client_id: str = "",
        persistent: bool = False,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{id(self)}",
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,
        )
        self.client.reconnect_delay_set(0.05, 0.2)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._subscribed.wait(60):  # only bounds a hang
            raise RuntimeError("collector did not subscribe")

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def rows(self, suffix: str | None = None) -> list[dict[str, Any]]:
        """Decoded JSON payloads of row messages (topic not ending in /status)."""
        with self._lock:
            msgs = list(self.messages)
        out = []
        for topic, payload in msgs:
            if topic.endswith("/status") or (suffix and not topic.endswith(suffix)):
                continue
            data = json.loads(payload)
            data["_topic"] = topic
            out.append(data)
        return out

    def seqs(self) -> list[int]:
        return [r["seq"] for r in self.rows()]

    def statuses(self) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.messages if t.endswith("/status")]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll `predicate` until true (the messages arrive on paho's thread)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s; got {len(self.messages)} messages"
                )
            await asyncio.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
