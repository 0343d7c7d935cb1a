"""Ingest from a real mosquitto 2 (MQTT 5 shared subscriptions) into both store engines,
with simulated devices publishing what real devices publish."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edgetui.fleet.store import FleetStore
from tests.fleet.helpers import ingesting, online, simulating, until
from tests.support.mosquitto import Broker


def publish(broker: Broker, topic: str, payload: bytes, retain: bool = False) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.connect(broker.host, broker.port)
    c.loop_start()
    c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    c.disconnect()
    c.loop_stop()


def test_simulated_fleet_lands_in_the_store(store: FleetStore, mosquitto: Broker) -> None:
    n = 150
    with ingesting(store, mosquitto.url, name="fleet-a") as ing:
        with simulating(mosquitto.url, n, types=("camera", "gateway"), low_ram_rate=0.1) as sim:
            until(lambda: online(store) == n, what="every simulated device online")
            until(
                lambda: all(d.last_telemetry for d in store.devices()), what="telemetry from each"
            )
            low = sum(d.low_ram for d in sim.devices)
            until(lambda: store.summary().alerts["warning"] == low, what="the low-RAM alerts")
            d = store.device("sim-00001")
            assert d is not None and d.device_type == "gateway" and d.release == "1.0.0"
            assert (d.slot, d.slot_status, d.ingested_by) == ("a", "good", "fleet-a")
            assert d.cpu_percent is not None and d.inference_p95_ms is not None
            assert ing.stats.rejected == 0
        # a clean stop: every simulated device said offline (retained) before it left
        until(lambda: store.summary().offline == n, what="every device offline after the stop")


def test_last_will_then_back_online(store: FleetStore, mosquitto: Broker) -> None:
    with (
        ingesting(store, mosquitto.url),
        simulating(mosquitto.url, 40, offline_rate=0.2, offline_for_s=1.0) as sim,
    ):
        flaky = {d.device_id for d in sim.devices if d.flaky}
        assert flaky
        until(
            lambda: any(d.status == "offline" for d in store.devices() if d.device_id in flaky),
            what="a flaky device's last will",
        )
        went = {d.device_id for d in store.devices() if d.status == "offline"}
        assert went <= flaky  # only the flaky ones dropped off
        until(
            lambda: all(d.status == "online" for d in store.devices() if d.device_id in went),
            what="the dropped devices back online",
        )


def test_late_fleet_process_learns_retained_status(store: FleetStore, mosquitto: Broker) -> None:
    with simulating(mosquitto.url, 30, telemetry_interval_s=3600) as sim:
        assert sim.wait_connected(timeout=30)
        # the devices said online before any fleet process listened (retained status)
        with ingesting(store, mosquitto.url):
            until(lambda: online(store) == 30, what="retained statuses of all 30 devices")


def test_command_results_bad_messages_and_audit(store: FleetStore, mosquitto: Broker) -> None:
    with ingesting(store, mosquitto.url) as ing, simulating(mosquitto.url, 5) as sim:
        assert sim.wait_connected(timeout=30)
        doc = {"id": "cmd-42", "command": "ota.check", "params": {}}
        publish(mosquitto, "devices/sim-00002/commands", json.dumps(doc).encode())
        cmds = until(lambda: store.commands("sim-00002"), what="the command's result")
        assert (cmds[0].command_id, cmds[0].command, cmds[0].state) == (
            "cmd-42",
            "ota.check",
            "REJECTED",
        )
        # A simulator started without --trusted-key trusts no command key.
        assert cmds[0].detail == "unknown_key"
        publish(mosquitto, "devices/sim-00003/telemetry", b"{not json")
        publish(mosquitto, "devices/sim-00003/alerts", b'{"alertname": "x", "state": "odd"}')
        publish(mosquitto, "devices/sim-00003/audit", b'{"event": "login", "user": "tech"}')
        until(lambda: ing.stats.rejected == 2, what="two rejected messages")
        assert "not JSON" in (ing.stats.last_rejected or "") or "unknown state" in (
            ing.stats.last_rejected or ""
        )
        until(lambda: ing.stats.by_kind.get("audit") == 1, what="the audit record")
        assert store.alerts("sim-00003") == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_store_outage_loses_nothing(store: FleetStore, mosquitto: Broker) -> None:
    """Writes the store refuses are kept and written once it answers again."""
    with ingesting(store, mosquitto.url) as ing:
        real_apply = store.apply
        refused = []

        def flaky_apply(updates, **kw):  # the store is down for the first two batches
            if len(refused) < 2:
                refused.append(len(updates))
                raise OSError("database is locked")
            return real_apply(updates, **kw)

        store.apply = flaky_apply  # type: ignore[method-assign]
        for i in range(5):
            publish(mosquitto, f"devices/d-{i}/status", b"online")
        until(lambda: online(store) == 5, what="all five statuses after the outage")
        assert ing.stats.dropped == 0 and "database is locked" in (ing.stats.last_error or "")


def test_the_ingest_downsamples_as_it_goes(store: FleetStore, mosquitto: Broker) -> None:
    import time

    from edgetui.fleet.records import iso
    from tests.fleet.payloads import telemetry

    base = (time.time() - 2 * 86400) // 600 * 600  # two days old: one 10-minute bucket
    with ingesting(store, mosquitto.url, downsample_every_s=0.1) as ing:
        for k in range(3):  # buffered telemetry from two days ago, arriving now
            topic, payload = telemetry("old-1", base + k, cpu=10.0 * k)
            publish(mosquitto, topic, payload)
        until(lambda: ing.stats.by_kind.get("telemetry") == 3, what="three samples")
        until(lambda: store.summary().telemetry_rows["old"] == 1, what="one 10-minute bucket")
        (point,) = store.telemetry("old-1")
        assert (point.tier, point.n, point.cpu_percent) == (2, 3, 10.0)
        assert point.ts == base and iso(point.ts) is not None


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_unreachable_broker_is_said_and_retried(store: FleetStore, tmp_path) -> None:
    from edgetui.bench.broker import free_port
    from edgetui.fleet import Ingest, parse_broker
    from tests.support.mosquitto import start_mosquitto

    port = free_port()
    ing = Ingest(store, parse_broker(f"mqtt://127.0.0.1:{port}"), batch_s=0.1)
    ing.start()
    try:
        until(lambda: ing.stats.last_error, what="the connection error")
        assert "cannot connect to the broker" in (ing.stats.last_error or "")
        broker = start_mosquitto(tmp_path, port=port)  # the broker comes up: paho retries
        try:
            assert ing.wait_connected(30)
            publish(broker, "devices/late/status", b"online")
            until(lambda: online(store) == 1, what="the status after reconnecting")
        finally:
            broker.stop()
    finally:
        ing.stop()
