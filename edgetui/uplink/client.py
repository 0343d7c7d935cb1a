"""Building a paho-mqtt 2.x client from `[uplink]` and connecting it, blocking (run in a
worker thread): DNS, TCP, TLS handshake and CONNACK, each failure as a LinkError."""

from __future__ import annotations

import contextlib
import logging
import select
import ssl
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edgetui.config import UplinkConfig
from edgetui.models.broker import BrokerAddress
from edgetui.uplink.errors import (
    ConnectFailed,
    LinkError,
    classify_connack,
    classify_exception,
    classify_lost,
)


class _WarningsOnly(logging.Logger):
    """paho logs a debug line per packet sent and received: turn those away with one
    comparison instead of the logging machinery (they are on the per-message path)."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level >= logging.WARNING:
            super().log(level, msg, *args, **kwargs)


class ErrorLog(logging.Handler):
    """Keeps paho's last error/warning line (TLS alerts only show up there). paho gets a
    private WARNING-level logger with this handler: debug lines cost one level check,
    and nothing reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: str | None = None
        self.logger = _WarningsOnly("edgetui.uplink.paho", logging.WARNING)
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.last = record.getMessage()
        except Exception:
            self.last = str(record.msg)


def make_client(
    cfg: UplinkConfig, client_id: str, address: BrokerAddress, status_topic: str
) -> mqtt.Client:
    """A configured, unconnected client (TLS, credentials, last will, window)."""
    v5 = cfg.mqtt_version == 5
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        reconnect_on_failure=False,  # the uplink reconnects itself, with backoff and jitter
        **({} if v5 else {"clean_session": True}),
    )
    if address.tls:
        try:
            client.tls_set(
                ca_certs=cfg.ca_file or None,
                certfile=cfg.cert_file or None,
                keyfile=cfg.key_file or None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        except (OSError, ssl.SSLError) as exc:
            what = f"ca_file {cfg.ca_file!r}" if cfg.ca_file else "the TLS settings"
            if cfg.cert_file and "ca" not in str(exc).lower():
                what = f"cert_file {cfg.cert_file!r} / key_file {cfg.key_file!r}"
            raise ConnectFailed(
                LinkError("config_error", f"cannot load [uplink] {what}: {exc}")
            ) from None
    if cfg.username or cfg.password_file:
        password = None
        if cfg.password_file:
            try:
                text = Path(cfg.password_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConnectFailed(
                    LinkError(
                        "config_error",
                        f"cannot read [uplink] password_file {cfg.password_file}: {exc.strerror}",
                    )
                ) from None
            password = text.splitlines()[0] if text else ""
        client.username_pw_set(cfg.username or None, password)
    client.will_set(status_topic, "offline", qos=1, retain=True)
    client.max_inflight_messages_set(max(1, cfg.inflight))
    client.max_queued_messages_set(0)
    return client


def pending_tls_bytes(sock: Any) -> int:
    """Bytes TLS already decrypted but nobody read yet: select() cannot see them."""
    pending = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


def pump(client: mqtt.Client, timeout: float) -> MQTTErrorCode:
    """One round of the client's network loop through paho's external-loop API (the
    uplink never uses `loop()`/`loop_start()`: one thread of ours owns the socket)."""
    sock = client.socket()
    if sock is None:
        return MQTTErrorCode.MQTT_ERR_NO_CONN
    if pending_tls_bytes(sock):
        timeout = 0.0
    writable = [sock] if client.want_write() else []
    try:
        readable, _, _ = select.select([sock], writable, [], timeout)
    except (OSError, ValueError):
        return MQTTErrorCode.MQTT_ERR_CONN_LOST
    if readable or pending_tls_bytes(sock):
        rc = client.loop_read()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return rc
    if client.want_write():
        rc = client.loop_write()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return rc
    return client.loop_misc()


def connect_blocking(
    client: mqtt.Client,
    address: BrokerAddress,
    timeout: float,
    errors: ErrorLog,
    *,
    has_cert: bool = False,
    keepalive: int = 30,
) -> None:
    """Connect and wait for a successful CONNACK; raises ConnectFailed. Blocking."""
    connack: list[Any] = []
    client.on_connect = lambda c, u, flags, rc, props: connack.append(rc)
    client.enable_logger(errors.logger)
    client.connect_timeout = timeout
    try:
        client.connect(address.host, address.port, keepalive=keepalive)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectFailed(classify_exception(exc, address.where, timeout, address.tls)) from None
    deadline = time.monotonic() + timeout
    while not connack:
        try:
            rc = pump(client, 0.05)
        except (OSError, ssl.SSLError) as exc:
            client._sock_close()
            raise ConnectFailed(
                classify_exception(exc, address.where, timeout, address.tls)
            ) from None
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS and not connack:
            raise ConnectFailed(
                classify_lost(
                    errors.last,
                    address.where,
                    address.tls,
                    before_connack=True,
                    handshake_done=True,
                    has_cert=has_cert,
                )
            )
        if time.monotonic() > deadline and not connack:
            client._sock_close()
            raise ConnectFailed(
                LinkError(
                    "timeout",
                    f"timeout: {address.where} accepted the connection but sent no CONNACK "
                    f"within {timeout:g} s",
                )
            )
    if connack[0].is_failure:
        client._sock_close()
        raise ConnectFailed(classify_connack(connack[0]))


def abandon(client: mqtt.Client) -> None:
    """Close a lost client's socket if paho has not: no DISCONNECT, so the broker sends
    the last will (`offline`) while the uplink backs off."""
    sock = client.socket()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
