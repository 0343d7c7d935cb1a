"""The simulator's side of signed commands, on a real mosquitto: the real verifier, A/B
slots on trial then committed, a failing health check that fires a critical alert and rolls
back, a low-RAM device that refuses with the device's own reason, and `ota.rollback`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edgetui.keys import generate_keypair, load_private_key
from edgetui.remote import sign_command
from tests.fleet.helpers import simulating, until
from tests.support.mqtt_sub import Collector

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def ops_key(tmp_path: Path) -> tuple[Path, Path]:
    return generate_keypair(tmp_path / "ops")


def write_manifest(path: Path, version: str, **extra: Any) -> str:
    path.write_text(json.dumps({"version": version, **extra}))
    return path.as_uri()


def by_command(sub: Collector, command_id: str) -> list[dict[str, Any]]:
    return [r for r in sub.rows("commands/result") if r.get("command_id") == command_id]


def states(sub: Collector, command_id: str) -> list[str]:
    return [r["state"] for r in by_command(sub, command_id)]


def latest_telemetry(sub: Collector, device_id: str) -> dict[str, Any] | None:
    rows = [r for r in sub.rows("/telemetry") if r["device_id"] == device_id]
    return rows[-1]["device"] if rows else None


def test_signed_update_commits_fails_and_refuses(mosquitto, ops_key, tmp_path: Path) -> None:
    key = load_private_key(ops_key[0])
    url = write_manifest(tmp_path / "manifest.json", "2.0.0", min_ram_mb=1024)
    sub = Collector(mosquitto.host, mosquitto.port, topic="devices/#")
    with simulating(
        mosquitto.url,
        12,
        trusted_keys=(str(ops_key[1]),),
        fail_rate=0.3,
        low_ram_rate=0.3,
        install_s=0.2,
        health_s=0.5,
    ) as sim:
        assert sim.wait_connected(timeout=20)
        devs = sim.devices
        good = next(d for d in devs if not d.will_fail and not d.low_ram)
        failing = next(d for d in devs if d.will_fail and not d.low_ram)
        small = next(d for d in devs if d.low_ram)
        cmds = {}
        for d in (good, failing, small):
            doc = sign_command(
                key, "ota.apply", targets=[d.device_id], params={"manifest_url": url}
            )
            cmds[d.device_id] = doc["id"]
            sub.client.publish(d.commands_topic, json.dumps(doc), qos=1)
        # The good device: QUEUED, IN_PROGRESS, SUCCEEDED; booted on b, on trial, then good.
        until(lambda: "SUCCEEDED" in states(sub, cmds[good.device_id]), 20, "good SUCCEEDED")
        assert states(sub, cmds[good.device_id])[:2] == ["QUEUED", "IN_PROGRESS"]
        until(
            lambda: (
                (latest_telemetry(sub, good.device_id) or {}).get("slot_status") == "good"
                and latest_telemetry(sub, good.device_id)["version"] == "2.0.0"
            ),
            20,
            "the good device's slot committed",
        )
        assert latest_telemetry(sub, good.device_id)["slot"] == "b"
        # The failing device: SUCCEEDED (installed), then its health check fails: a critical
        # alert fires and it is back on slot a with the old version.
        until(
            lambda: any(
                r["device_id"] == failing.device_id
                and r["alertname"] == "ota_health_check"
                and r["state"] == "firing"
                and r["severity"] == "critical"
                for r in sub.rows("/alerts")
            ),
            20,
            "the failing device's critical alert",
        )
        assert "SUCCEEDED" in states(sub, cmds[failing.device_id])
        until(
            lambda: (
                (latest_telemetry(sub, failing.device_id) or {}).get("version") == "0.1.0"
                and latest_telemetry(sub, failing.device_id)["slot"] == "a"
            ),
            20,
            "the failing device rolled back",
        )
        # The low-RAM device refuses before anything, with the device's reason.
        until(lambda: "FAILED" in states(sub, cmds[small.device_id]), 20, "low RAM refused")
        final = by_command(sub, cmds[small.device_id])[-1]
        assert final["reason"] == "insufficient_ram"
        assert final["message"] == "release 2.0.0 needs 1024 MB of RAM; this device has 512 MB"

        # ota.rollback on the updated device: back to slot a.
        rb = sign_command(key, "ota.rollback", targets=[good.device_id])
        sub.client.publish(good.commands_topic, json.dumps(rb), qos=1)
        until(lambda: "SUCCEEDED" in states(sub, rb["id"]), 20, "rollback SUCCEEDED")
        until(
            lambda: (latest_telemetry(sub, good.device_id) or {}).get("version") == "0.1.0",
            20,
            "telemetry after the rollback",
        )

        # The same command again is a replay; a tampered one does not verify; another
        # device's command is not for this one.
        again = sign_command(key, "ota.check", targets=["all"], command_id="c-replay")
        sub.client.publish(good.commands_topic, json.dumps(again), qos=1)
        until(lambda: "SUCCEEDED" in states(sub, "c-replay"), 20, "first check")
        sub.client.publish(good.commands_topic, json.dumps(again), qos=1)
        until(lambda: "REJECTED" in states(sub, "c-replay"), 20, "replay refused")
        assert by_command(sub, "c-replay")[-1]["reason"] == "replayed"
        tampered = dict(sign_command(key, "ota.check", targets=["all"], command_id="c-bad"))
        tampered["targets"] = ["type:camera"]
        sub.client.publish(good.commands_topic, json.dumps(tampered), qos=1)
        until(lambda: states(sub, "c-bad") == ["REJECTED"], 20, "tampered refused")
        assert by_command(sub, "c-bad")[-1]["reason"] == "bad_signature"
    sub.close()


def test_without_trusted_keys_every_command_is_rejected(mosquitto, ops_key) -> None:
    key = load_private_key(ops_key[0])
    sub = Collector(mosquitto.host, mosquitto.port, topic="devices/+/commands/result")
    with simulating(mosquitto.url, 1) as sim:
        assert sim.wait_connected(timeout=20)
        doc = sign_command(key, "ota.check", targets=["all"])
        sub.client.publish(sim.devices[0].commands_topic, json.dumps(doc), qos=1)
        until(lambda: states(sub, doc["id"]) == ["REJECTED"], 20, "rejected")
        assert by_command(sub, doc["id"])[0]["reason"] == "unknown_key"
    sub.close()


def test_a_device_counts_as_connected_once_its_commands_subscription_is_in_place(
    mosquitto, ops_key, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wait_connected() is what a sender waits on before publishing commands: a device
    counts once the broker acknowledged its commands subscription, not at its CONNACK (a
    command published in between is lost, and its sender waits in vain for a result)."""
    from edgetui.fleet.simulator.pool import SimPool

    online_at_connack: list[bool] = []
    real = SimPool._on_connect

    def spy(self: SimPool, client: Any, idx: int, *rest: Any) -> None:
        real(self, client, idx, *rest)
        online_at_connack.append(idx in self.online)

    monkeypatch.setattr(SimPool, "_on_connect", spy)
    key = load_private_key(ops_key[0])
    sub = Collector(mosquitto.host, mosquitto.port, topic="devices/+/commands/result")
    with simulating(mosquitto.url, 3) as sim:
        assert sim.wait_connected(timeout=60)
        assert online_at_connack == [False, False, False]
        docs = [sign_command(key, "ota.check", targets=["all"]) for _ in sim.devices]
        for dev, doc in zip(sim.devices, docs, strict=True):
            sub.client.publish(dev.commands_topic, json.dumps(doc), qos=1)
        for doc in docs:
            until(lambda d=doc: states(sub, d["id"]) == ["REJECTED"], 60, "every device's result")
    sub.close()
