"""The fleet's MQTT plumbing: the broker URL and paho clients (MQTT 5, for shared
subscriptions). The fleet never imports the device's uplink: it is the other end."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True)
class Broker:
    """Where the broker is: `mqtt://host[:port]` or `mqtts://host[:port]`."""

    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker(url: str) -> Broker:
    """Parse `--broker`; ValueError with a one-line reason."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker {url!r}: expected mqtt://host:port or mqtts://host:port")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"broker {url!r}: bad port") from None
    tls = parts.scheme == "mqtts"
    return Broker(parts.hostname, port or (8883 if tls else 1883), tls)


def make_client(
    broker: Broker, client_id: str, *, v5: bool = True, ca_file: str | None = None
) -> mqtt.Client:
    """A paho 2.x client for `broker` (not yet connected)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    if broker.tls:
        ctx = ssl.create_default_context(cafile=ca_file)
        client.tls_set_context(ctx)
    return client
