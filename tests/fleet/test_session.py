"""The fleet session: built once from [fleet] and the options, each part made when first
asked for, closed together; its MQTT clients carry the [fleet] TLS and mutual TLS, which
`command send` uses too (a real mosquitto that requires a client certificate)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from edgetui.config import FleetConfig
from edgetui.fleet.mqtt import MqttAuth
from edgetui.fleet.session import FleetSession, SessionError
from tests.support.cli import run_cli
from tests.support.mqtt_tls import make_tls_files, start_tls_broker


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def until(pred, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_nothing_is_opened_until_asked_and_close_closes(tmp_path: Path) -> None:
    session = FleetSession.from_config(FleetConfig(), tmp_path)
    assert not (tmp_path / "fleet.db").exists()
    assert session.store.devices() == []
    assert (tmp_path / "fleet.db").exists()
    assert session.store is session.store  # made once
    session.close()
    assert session._store is None


def test_options_override_the_fleet_keys(tmp_path: Path) -> None:
    cfg = FleetConfig(broker="mqtt://a:1883", group="g1", ca_file="ca", cert_file="c", key_file="k")
    s = FleetSession.from_config(cfg, tmp_path, auth=MqttAuth(ca_file="other", username="u"))
    assert s.auth == MqttAuth(ca_file="other", cert_file="c", key_file="k", username="u")
    assert (s.broker.host, s.broker.port, s.group) == ("a", 1883, "g1")
    s = FleetSession.from_config(cfg, tmp_path, broker="mqtts://b:8883", group="g2")
    assert (s.broker.host, s.broker.tls, s.group) == ("b", True, "g2")


def test_each_bad_value_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="--group") as bad:
        FleetSession.from_config(FleetConfig(), tmp_path, group="a/b")
    assert bad.value.usage
    session = FleetSession.from_config(FleetConfig(), tmp_path)
    with pytest.raises(SessionError, match="no broker") as bad:
        session.start_ingest()
    assert bad.value.usage and session._store is None  # told before the store is opened
    with pytest.raises(SessionError) as bad:
        _ = FleetSession.from_config(FleetConfig(broker="http://x"), tmp_path).broker
    assert bad.value.usage
    with pytest.raises(SessionError, match="TLS"):
        cfg = FleetConfig(broker="mqtts://localhost:1", ca_file=str(tmp_path / "missing.pem"))
        FleetSession.from_config(cfg, tmp_path).mqtt_client()


def test_ingest_over_mutual_tls_from_the_fleet_keys(tmp_path: Path, tls) -> None:
    broker = start_tls_broker(tmp_path, tls, require_certificate=True)
    cfg = FleetConfig(
        broker=f"mqtts://localhost:{broker.port}",
        ca_file=str(tls.ca),
        cert_file=str(tls.client_cert),
        key_file=str(tls.client_key),
    )
    try:
        with FleetSession.from_config(cfg, tmp_path) as session:
            ingest = session.start_ingest()
            assert session.start_ingest() is ingest  # one per session
            until(lambda: ingest.stats.connected, what="the ingest's mTLS connection")
        assert session.ingest is None and session._store is None
    finally:
        broker.stop()


def _device(session: FleetSession, device_id: str, ready: threading.Event) -> object:
    """A stand-in device on the mTLS broker: answers every command SUCCEEDED."""
    from edgetui.models.vocabulary import Topic, device_topic

    client = session.mqtt_client(f"stub-{device_id}")

    def on_message(c, u, msg) -> None:
        cid = json.loads(msg.payload)["id"]
        for state in ("QUEUED", "SUCCEEDED"):
            rec = {"command_id": cid, "device_id": device_id, "state": state}
            c.publish(device_topic(device_id, Topic.COMMAND_RESULT), json.dumps(rec), qos=1)

    client.on_message = on_message
    client.on_subscribe = lambda c, u, mid, rcs, p: ready.set()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(
        device_topic(device_id, Topic.COMMANDS), qos=1
    )
    client.connect(session.broker.host, session.broker.port)
    client.loop_start()
    return client


def test_command_send_uses_the_fleet_client_with_mtls(tmp_path: Path, tls) -> None:
    broker = start_tls_broker(tmp_path, tls, require_certificate=True)
    url = f"mqtts://localhost:{broker.port}"
    doc = tmp_path / "cmd.json"
    doc.write_text(json.dumps({"id": "c-1", "command": "ota.check", "targets": ["dev-1"]}))
    auth = MqttAuth(str(tls.ca), str(tls.client_cert), str(tls.client_key))
    stub_session = FleetSession.from_config(FleetConfig(broker=url), tmp_path, auth=auth)
    ready = threading.Event()
    stub = _device(stub_session, "dev-1", ready)
    try:
        assert ready.wait(20)
        # The certificate from the options...
        sent = run_cli(
            "command", "send", "--broker", url, str(doc), "--json", "--timeout", "20",
            "--ca-file", str(tls.ca), "--cert-file", str(tls.client_cert),
            "--key-file", str(tls.client_key),
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        states = [json.loads(line)["state"] for line in sent.stdout.splitlines()]
        assert states == ["QUEUED", "SUCCEEDED"]
        # ...or from [fleet]; without any, the broker refuses the client.
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[fleet]\nca_file = "{tls.ca}"\ncert_file = "{tls.client_cert}"\n'
            f'key_file = "{tls.client_key}"\n'
        )
        sent = run_cli(
            "--config", str(cfg), "command", "send", "--broker", url, str(doc), "--timeout", "20"
        )
        assert sent.returncode == 0, sent.stderr
        assert "dev-1: SUCCEEDED" in sent.stdout
        refused = run_cli(
            "command", "send", "--broker", url, str(doc), "--timeout", "3",
            "--ca-file", str(tls.ca),
        )  # fmt: skip
        assert refused.returncode == 1
    finally:
        stub.loop_stop()
        stub.disconnect()
        broker.stop()
