"""Each way the link can fail shows its own state in words, backs off, and loses nothing;
and the working TLS/mTLS/password/MQTT 3.1.1 set-ups connect."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from edgetui.models.serde import to_dict
from tests.support.mosquitto import free_port
from tests.support.mqtt_tls import (
    make_tls_files,
    start_password_broker,
    start_tls_broker,
    write_password_file,
)
from tests.uplink.helpers import close_pair, make_pair, wait_until


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


async def expect_failure(tmp_path: Path, url: str, kind: str, words: str, **kw) -> None:
    """The uplink stays down with `kind`, retries with backoff, and keeps every row."""
    ob, up = await make_pair(tmp_path, url, **kw)
    seqs = [r.seq for r in await ob.enqueue_many([("alert", {"n": i}) for i in range(5)])]
    try:
        await up.start()
        await wait_until(lambda: up.attempts >= 3, timeout=30, what="three attempts")
        s = to_dict(up.section())
        assert s["state"] in ("backoff", "connecting")
        assert s["error_kind"] == kind, s["last_error"]
        assert words in s["last_error"], s["last_error"]
        assert s["queued"] == 5 and [r.seq for r in await ob.fetch(10)] == seqs
        assert s["sent"] == 0
    finally:
        await close_pair(ob, up)


async def test_broker_down_at_start_then_up(tmp_path: Path) -> None:
    from tests.support.mosquitto import start_mosquitto

    port = free_port()
    ob, up = await make_pair(tmp_path, f"mqtt://127.0.0.1:{port}")
    await ob.enqueue("alert", {"n": 1})
    await up.start()
    await wait_until(lambda: up.attempts >= 2, what="retries")
    assert to_dict(up.section())["error_kind"] == "connection_refused"
    assert to_dict(up.section())["retry_in_s"] is not None or up.state == "connecting"
    broker = start_mosquitto(tmp_path, port=port)
    try:
        await wait_until(lambda: ob.queued() == 0, what="drained once the broker is up")
        assert up.state == "connected"
    finally:
        await close_pair(ob, up)
        broker.stop()


async def test_wrong_port(tmp_path: Path) -> None:
    await expect_failure(
        tmp_path, f"mqtt://127.0.0.1:{free_port()}", "connection_refused", "connection refused"
    )


async def test_dns_failure(tmp_path: Path) -> None:
    await expect_failure(tmp_path, "mqtt://no-such-host.invalid:1883", "dns_failure", "DNS failure")


async def test_timeout_when_nothing_answers(tmp_path: Path) -> None:
    with socket.socket() as s:  # accepts TCP (backlog) but never speaks MQTT
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        await expect_failure(
            tmp_path, f"mqtt://127.0.0.1:{port}", "timeout", "timeout", connect_timeout=0.5
        )


async def test_tls_against_a_plain_port(tmp_path: Path, mosquitto, tls) -> None:
    await expect_failure(
        tmp_path,
        f"mqtts://127.0.0.1:{mosquitto.port}",
        "tls_failed",
        "TLS handshake failed",
        ca_file=str(tls.ca),
    )


async def test_wrong_ca(tmp_path: Path, tls) -> None:
    broker = start_tls_broker(tmp_path, tls)
    try:
        await expect_failure(
            tmp_path,
            f"mqtts://127.0.0.1:{broker.port}",
            "tls_failed",
            "not trusted",
            ca_file=str(tls.other_ca),
        )
    finally:
        broker.stop()


async def test_client_certificate_missing_where_required(tmp_path: Path, tls) -> None:
    broker = start_tls_broker(tmp_path, tls, require_certificate=True)
    try:
        await expect_failure(
            tmp_path,
            f"mqtts://127.0.0.1:{broker.port}",
            "not_authorized",
            "requires a client certificate",
            ca_file=str(tls.ca),
        )
    finally:
        broker.stop()


async def test_bad_password(tmp_path: Path) -> None:
    pw = write_password_file(tmp_path / "passwd", "dev", "s3cret")
    (tmp_path / "wrong").write_text("guess\n")
    broker = start_password_broker(tmp_path, pw)
    try:
        await expect_failure(
            tmp_path,
            broker.url,
            "not_authorized",
            "not authorized",
            username="dev",
            password_file=str(tmp_path / "wrong"),
        )
    finally:
        broker.stop()


@pytest.mark.parametrize("version", [3, 5])
async def test_mtls_and_password_connect(tmp_path: Path, tls, version: int) -> None:
    pw = write_password_file(tmp_path / "passwd", "dev", "s3cret")
    (tmp_path / "right").write_text("s3cret\n")
    broker = start_tls_broker(tmp_path, tls, require_certificate=True, password_file=pw)
    ob, up = await make_pair(
        tmp_path,
        f"mqtts://localhost:{broker.port}",
        ca_file=str(tls.ca),
        cert_file=str(tls.client_cert),
        key_file=str(tls.client_key),
        username="dev",
        password_file=str(tmp_path / "right"),
        mqtt_version=version,
    )
    try:
        await ob.enqueue("alert", {"n": 1})
        await up.start()
        result = await up.flush(20)
        assert result["ok"], result
        assert to_dict(up.section())["state"] == "connected"
    finally:
        await close_pair(ob, up)
        broker.stop()


async def test_retry_now_skips_the_backoff(tmp_path: Path) -> None:
    from tests.support.mosquitto import start_mosquitto

    port = free_port()
    ob, up = await make_pair(
        tmp_path, f"mqtt://127.0.0.1:{port}", backoff_min_s=60, backoff_max_s=60
    )
    await up.start()
    await wait_until(lambda: up.state == "backoff", what="backoff")
    assert to_dict(up.section())["retry_in_s"] > 20
    broker = start_mosquitto(tmp_path, port=port)
    try:
        up.retry_now()
        await wait_until(lambda: up.state == "connected", timeout=10, what="connected")
    finally:
        await close_pair(ob, up)
        broker.stop()


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    from edgetui.config import StoreConfig, UplinkConfig
    from edgetui.store.outbox import Outbox
    from edgetui.uplink.service import Uplink

    up = Uplink(
        UplinkConfig(url="mqtt://x:1", backoff_min_s=1, backoff_max_s=8),
        Outbox(StoreConfig(), Path("/nonexistent/never-opened.db")),
        device_id="d",
    )
    assert [up.backoff_delay(n, jitter=1.0) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert [up.backoff_delay(n, jitter=0.0) for n in range(1, 5)] == [0.5, 1, 2, 4]


async def test_the_first_report_of_a_lost_link_is_the_one_kept(tmp_path: Path) -> None:
    """A lost link is reported twice: paho's on_disconnect (with the broker's reason, when
    it sent one) and then the drain's error code. The second must not overwrite the first.
    (mosquitto here closes a taken-over session without a reason code, hence no broker.)"""
    from paho.mqtt.enums import MQTTErrorCode
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    from edgetui.models.broker import parse_broker

    url = f"mqtt://127.0.0.1:{free_port()}"
    ob, up = await make_pair(tmp_path, url)
    try:
        up.address, up._gen = parse_broker(url), 1  # as if connected (nothing listens there)
        up._on_lost(1, ReasonCode(PacketTypes.DISCONNECT, "Session taken over"))
        up._on_lost(1, MQTTErrorCode.MQTT_ERR_CONN_LOST)
        assert up._lost.is_set()
        assert up._lost_error.message == "broker disconnected us: Session taken over"
    finally:
        await close_pair(ob, up)
