"""The fleet's MQTT plumbing: paho clients (MQTT 5, for shared subscriptions) for a broker
address (`edgetui.models.broker`, the one parser the device uses too). The fleet never
imports the device's uplink: it is the other end."""

from __future__ import annotations

import os
import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.models.broker import BrokerAddress, parse_broker

__all__ = ["BrokerAddress", "make_client", "parse_broker", "process_name"]


def process_name() -> str:
    """This fleet process's name: the ingest's `ingested_by` and client id, the rollout
    runner's lease owner (`host-pid`)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def make_client(
    broker: BrokerAddress, client_id: str, *, v5: bool = True, ca_file: str | None = None
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
