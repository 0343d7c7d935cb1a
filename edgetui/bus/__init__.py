"""The local event bus: agents and parts talk in CloudEvents 1.0 envelopes.

Offers `EventBus` (publish, wildcard subscriptions with bounded queues, a history ring),
the envelope's JSON form (`event_dict`, `event_from_dict`, `EnvelopeError`), and the optional
MQTT bridge to a local broker (`MqttBridge`, imported on demand since it loads paho).
`build_bus` makes the bus and wires the bridge when `[bus] bridge_url` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgetui.bus.envelope import EnvelopeError, event_dict, event_from_dict, validate_event
from edgetui.bus.event_bus import EventBus, Subscription, SubscriptionClosed
from edgetui.config import BusConfig

__all__ = [
    "EnvelopeError",
    "EventBus",
    "Subscription",
    "SubscriptionClosed",
    "build_bus",
    "event_dict",
    "event_from_dict",
    "validate_event",
]


def build_bus(
    config: BusConfig, device_id: str, notify: Callable[[str, dict[str, Any]], None] | None = None
) -> EventBus:
    """The bus for `config`, with its MQTT bridge attached when `bridge_url` is set.

    The bridge is wired here, not inside the bus, so the dependency runs one way: the bridge
    knows the bus (through a small protocol); the bus only starts, stops and reports it.
    """
    bus = EventBus(config, device_id, notify=notify)
    if config.bridge_url:
        from edgetui.bus.mqtt_bridge import MqttBridge  # paho only when a bridge is configured

        bus.bridge = MqttBridge(
            bus, config.bridge_url, device_id, max_bytes=config.bridge_max_bytes
        )
    return bus
