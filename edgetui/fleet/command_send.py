"""Send one signed remote command to devices and wait for their final states (`command send`
is its face): subscribed to each device's devices/<id>/commands/result before publishing to
devices/<id>/commands, so no state can be missed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from edgetui.models.broker import BrokerAddress
from edgetui.models.vocabulary import TERMINAL, Topic, device_topic

SUBSCRIBE_WAIT_S = 10.0  # the broker's SUBACK
PUBACK_WAIT_S = 10.0  # each device's PUBACK


class SendError(Exception):
    """The broker could not be reached or did not answer, in one line."""


def send_command(
    client: Any,
    broker: BrokerAddress,
    data: bytes,
    command_id: str,
    devices: list[str],
    *,
    timeout_s: float,
    on_record: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Publish the signed document `data` (command `command_id`) to each device with
    `client` (a paho client not yet connected, e.g. `FleetSession.mqtt_client()`), calling
    `on_record(device, record)` for each of its state records as it comes, until every
    device reached a final state or `timeout_s` passed; returns the final record per device
    that sent one. Raises SendError."""
    finals: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    subscribed = threading.Event()
    done = threading.Event()

    def on_message(c: Any, u: Any, msg: Any) -> None:
        try:
            rec = json.loads(msg.payload)
        except ValueError:
            return
        if not isinstance(rec, dict) or rec.get("command_id") != command_id:
            return
        device = msg.topic.split("/")[1]
        if on_record is not None:
            on_record(device, rec)
        if rec.get("state") in TERMINAL:
            with lock:
                finals[device] = rec
                if all(d in finals for d in devices):
                    done.set()

    client.on_message = on_message
    client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except OSError as exc:
        raise SendError(f"cannot connect to {broker}: {exc}") from None
    client.loop_start()
    try:
        client.subscribe([(device_topic(d, Topic.COMMAND_RESULT), 1) for d in devices])
        if not subscribed.wait(SUBSCRIBE_WAIT_S):
            raise SendError(f"{broker} did not confirm the subscription")
        for d in devices:
            client.publish(device_topic(d, Topic.COMMANDS), data, qos=1).wait_for_publish(
                PUBACK_WAIT_S
            )
        deadline = time.monotonic() + timeout_s
        while not done.wait(0.1) and time.monotonic() < deadline:
            pass
    finally:
        client.disconnect()
        client.loop_stop()
    return finals
