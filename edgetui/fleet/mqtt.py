"""The fleet's MQTT plumbing: paho clients (MQTT 5, for shared subscriptions) for a broker
address (`edgetui.models.broker`, the one parser the device uses too), with the TLS and
mutual TLS of `[fleet]`. The fleet never imports the device's uplink: it is the other end."""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.models.broker import BrokerAddress, parse_broker

__all__ = ["BrokerAddress", "MqttAuth", "make_client", "parse_broker", "process_name"]


@dataclass(frozen=True)
class MqttAuth:
    """How a fleet client proves itself and checks the broker: the CA to trust for mqtts://
    (empty: the system's), a client certificate and key (mutual TLS), a user name and
    password. Empty strings mean "none"."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    username: str = ""
    password: str = ""


def process_name() -> str:
    """This fleet process's name: the ingest's `ingested_by` and client id, the rollout
    runner's lease owner (`host-pid`)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def make_client(
    broker: BrokerAddress, client_id: str, *, v5: bool = True, auth: MqttAuth | None = None
) -> mqtt.Client:
    """A paho 2.x client for `broker` (not yet connected). Raises OSError/ssl.SSLError when
    a CA, certificate or key file cannot be loaded."""
    auth = auth or MqttAuth()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    if broker.tls:
        ctx = ssl.create_default_context(cafile=auth.ca_file or None)
        if auth.cert_file:
            ctx.load_cert_chain(auth.cert_file, auth.key_file or None)
        client.tls_set_context(ctx)
    if auth.username:
        client.username_pw_set(auth.username, auth.password or None)
    return client
