"""Many simulated devices on one thread: one paho client per device (each needs its own
connection and last will, as real devices have), driven by paho's external-loop API over
one epoll, not a thread per client.

The pool connects its devices a batch per turn (the broker accepts a few hundred a
second per core), spreads their telemetry over the interval, and sends each `flaky` device
offline now and then with MQTT 5's "disconnect with will message" (reason code 4): the
broker publishes the device's last will, exactly as when a real device drops off.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edgetui.fleet.mqtt import make_client
from edgetui.fleet.simulator.device import SimDevice
from edgetui.models.broker import BrokerAddress

log = logging.getLogger(__name__)

CONNECTS_PER_TURN = 50
DISCONNECT_WITH_WILL = 4  # MQTT 5 DISCONNECT reason code: the broker sends the will


class SimPool(threading.Thread):
    """Runs `devices` until `stop()`; counters are read from other threads."""

    def __init__(
        self,
        broker: BrokerAddress,
        devices: list[SimDevice],
        *,
        interval_s: float,
        offline_for_s: float,
        clock: Callable[[], float] = time.time,
        name: str = "sim-pool",
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.broker = broker
        self.devices = devices
        self.interval_s = interval_s
        self.offline_for_s = offline_for_s
        self.clock = clock
        # Connected, and the broker acknowledged the commands subscription: only then does a
        # command published to the device reach it (wait_connected() counts these).
        self.online: set[int] = set()
        self.published = 0
        self.commands = 0
        self.offline: set[int] = set()  # sent offline on purpose, back later
        self._halt = threading.Event()
        self._ep = select.epoll()
        self._by_fd: dict[int, mqtt.Client] = {}
        self._clients: list[mqtt.Client] = []
        # (due time, sequence, action, device index): telemetry, offline, reconnect, connect
        self._due: list[tuple[float, int, str, int]] = []
        self._n = 0
        self._waking: set[int] = set()  # devices with an "advance" scheduled

    # -- scheduling ----------------------------------------------------------------------
    def _at(self, when: float, action: str, idx: int) -> None:
        self._n += 1
        heapq.heappush(self._due, (when, self._n, action, idx))

    # -- paho callbacks (all on this thread) ---------------------------------------------
    def _sock_open(self, client: mqtt.Client, _u: Any, sock: Any) -> None:
        fd = sock.fileno()
        self._by_fd[fd] = client
        self._ep.register(fd, select.EPOLLIN)

    def _sock_close(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        fd = sock.fileno()
        self._by_fd.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            self._ep.unregister(fd)

    def _want_write(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._ep.modify(sock.fileno(), select.EPOLLIN | select.EPOLLOUT)

    def _done_write(self, _c: mqtt.Client, _u: Any, sock: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._ep.modify(sock.fileno(), select.EPOLLIN)

    def _on_connect(self, client: mqtt.Client, idx: int, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            return
        dev = self.devices[idx]
        client.publish(dev.status_topic, "online", qos=1, retain=True)
        client.subscribe(dev.commands_topic, qos=1)
        for topic, payload in dev.alert_transitions(self.clock()):
            client.publish(topic, payload, qos=1)
        # What the device did while offline (an update finishing, its health check) was
        # kept, as a real device's outbox keeps it.
        for topic, payload in dev.outbox:
            client.publish(topic, payload, qos=1)
        dev.outbox.clear()

    def _on_subscribe(self, _c: mqtt.Client, idx: int, _mid: int, _rcs: Any, _p: Any) -> None:
        # The SUBACK, not the CONNACK: a command published between the two would be lost.
        self.online.add(idx)

    def _on_disconnect(self, _c: mqtt.Client, idx: int, _f: Any, rc: Any, _p: Any) -> None:
        self.online.discard(idx)
        if not self._halt.is_set() and idx not in self.offline:
            self._at(self.clock() + 1.0, "reconnect", idx)  # the link dropped: retry

    def _on_message(self, client: mqtt.Client, idx: int, msg: mqtt.MQTTMessage) -> None:
        self.commands += 1
        dev = self.devices[idx]
        now = self.clock()
        self._send(idx, dev.handle_command(msg.payload, now))
        self._wake(idx, now)

    def _send(self, idx: int, messages: list[tuple[str, bytes]]) -> None:
        client, dev = self._clients[idx], self.devices[idx]
        for topic, payload in messages:
            if client.is_connected():
                client.publish(topic, payload, qos=1)
            else:
                dev.outbox.append((topic, payload))

    def _wake(self, idx: int, now: float) -> None:
        """Schedule the device's next pending update step (one wake-up at a time)."""
        dev = self.devices[idx]
        due = dev.ota.next_due() if dev.ota else None
        if due is not None and idx not in self._waking:
            self._waking.add(idx)
            self._at(max(due, now), "advance", idx)

    # -- the loop ------------------------------------------------------------------------
    def _client(self, idx: int) -> mqtt.Client:
        dev = self.devices[idx]
        c = make_client(self.broker, dev.device_id)
        c.user_data_set(idx)
        c.will_set(dev.status_topic, "offline", qos=1, retain=True)
        c.on_socket_open = self._sock_open
        c.on_socket_close = self._sock_close
        c.on_socket_register_write = self._want_write
        c.on_socket_unregister_write = self._done_write
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        return c

    def _connect(self, idx: int, now: float) -> None:
        client = self._clients[idx]
        try:
            client.connect(self.broker.host, self.broker.port, keepalive=60)
        except OSError as exc:
            log.debug("sim %s: connect failed: %s", self.devices[idx].device_id, exc)
            self._at(now + 2.0, "reconnect", idx)

    def _act(self, action: str, idx: int, now: float) -> None:
        dev, client = self.devices[idx], self._clients[idx]
        if action == "telemetry":
            self._at(now + self.interval_s, "telemetry", idx)
            if client.is_connected():
                topic, payload = dev.telemetry(now)
                client.publish(topic, payload, qos=1)
                self.published += 1
        elif action == "offline":
            if client.is_connected():
                self.offline.add(idx)
                reason = ReasonCode(PacketTypes.DISCONNECT, identifier=DISCONNECT_WITH_WILL)
                client.disconnect(reasoncode=reason)
                self._at(now + self.offline_for_s, "back", idx)
        elif action == "back":
            self.offline.discard(idx)
            self._connect(idx, now)
            delay = dev.rng.uniform(self.interval_s, 3 * self.interval_s) + self.offline_for_s
            self._at(now + delay, "offline", idx)
        elif action == "reconnect":
            self._connect(idx, now)
        elif action == "advance":
            self._waking.discard(idx)
            self._send(idx, dev.advance(now))
            self._wake(idx, now)

    def run(self) -> None:
        start = self.clock()
        n = len(self.devices)
        for idx, dev in enumerate(self.devices):
            dev.started = start
            self._clients.append(self._client(idx))
        pending = list(range(n))
        last_misc = start
        while not self._halt.is_set():
            now = self.clock()
            if pending:  # connect a batch per turn, and give each its telemetry schedule
                for idx in pending[:CONNECTS_PER_TURN]:
                    self._connect(idx, now)
                    first = now + self.interval_s * (idx / max(n, 1)) + 0.5
                    self._at(first, "telemetry", idx)
                    if self.devices[idx].flaky:
                        off = now + self.devices[idx].rng.uniform(1, 3) * self.interval_s
                        self._at(off, "offline", idx)
                del pending[:CONNECTS_PER_TURN]
            while self._due and self._due[0][0] <= now:
                _, _, action, idx = heapq.heappop(self._due)
                self._act(action, idx, now)
            wait = 0.0 if pending else 0.05
            if self._due:
                wait = min(wait, max(0.0, self._due[0][0] - now))
            for fd, ev in self._ep.poll(wait):
                client = self._by_fd.get(fd)
                if client is None:
                    continue
                if ev & (select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP):
                    client.loop_read()
                if ev & select.EPOLLOUT and fd in self._by_fd:
                    client.loop_write()
            if now - last_misc >= 1.0:  # keepalive pings and timeouts
                last_misc = now
                for client in self._clients:
                    client.loop_misc()
        for client in self._clients:  # a clean stop: each device says offline itself
            if client.is_connected():
                dev = self.devices[client.user_data_get()]
                client.publish(dev.status_topic, "offline", qos=1, retain=True)
                client.loop_write()
                client.disconnect()
                client.loop_write()
        self._ep.close()

    @property
    def connected(self) -> int:
        return len(self.online)

    @property
    def offline_now(self) -> int:
        return len(self.offline)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)
