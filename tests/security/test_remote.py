"""Signed remote commands end to end: a real runtime, a real mosquitto, results on
devices/<id>/commands/result, the replay window across restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edgetui.config import Config, RemoteConfig
from edgetui.keys import generate_keypair, load_private_key
from edgetui.remote import RemoteCommands, sign_command
from edgetui.runtime import Runtime
from tests.support.mqtt_sub import Collector

DEVICE = "test-device"
RESULTS = f"devices/{DEVICE}/commands/result"
STATUS = f"devices/{DEVICE}/status"


@pytest.fixture
def ops_key(tmp_path: Path) -> tuple[Path, Path]:
    return generate_keypair(tmp_path / "ops")


@pytest.fixture
async def device(
    config: Config, state_dir: Path, mosquitto, ops_key
) -> AsyncIterator[tuple[Runtime, Collector]]:
    config.agents.enabled = []
    config.uplink.url = mosquitto.url
    config.remote.trusted_keys = [str(ops_key[1])]
    sub = Collector(mosquitto.host, mosquitto.port, topic=RESULTS)
    sub.status = Collector(mosquitto.host, mosquitto.port, topic=STATUS)  # type: ignore[attr-defined]
    rt = Runtime(config, state_dir)
    await rt.start()
    await subscribed(sub, 0)
    try:
        yield rt, sub
    finally:
        await rt.stop()
        sub.status.close()  # type: ignore[attr-defined]
        sub.close()


async def subscribed(sub: Collector, before: int) -> None:
    """Until the device's connection said `online` for the (before+1)-th time. The uplink
    is "connected" before its commands SUBSCRIBE reaches the broker (a command sent then
    is lost); it publishes `online` right after that SUBSCRIBE on the same connection, so
    once `online` is here the subscription is in place."""
    status: Collector = sub.status  # type: ignore[attr-defined]
    await status.wait_for(lambda: status.statuses().count(b"online") > before, 60)


def results(sub: Collector, command_id: str | None) -> list[dict[str, Any]]:
    return [r for r in sub.rows() if r.get("command_id") == command_id]


def states(sub: Collector, command_id: str | None) -> list[str]:
    return [r["state"] for r in results(sub, command_id)]


def send(sub: Collector, doc: dict[str, Any] | bytes) -> None:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    sub.client.publish(f"devices/{DEVICE}/commands", data, qos=1)


async def test_a_signed_flush_runs_once_even_across_restarts(device, ops_key) -> None:
    rt, sub = device
    key = load_private_key(ops_key[0])
    doc = sign_command(key, "buffer.flush", targets=[DEVICE], params={"timeout": 5})
    send(sub, doc)
    await sub.wait_for(lambda: "SUCCEEDED" in states(sub, doc["id"]))
    assert states(sub, doc["id"]) == ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    done = results(sub, doc["id"])[-1]
    assert done["key_id"] == doc["key_id"] and done["command"] == "buffer.flush"
    assert done["result"]["ok"] is True and done["device_id"] == DEVICE
    # The same document again: refused, and still after a restart (the window persists).
    send(sub, doc)
    await sub.wait_for(lambda: "REJECTED" in states(sub, doc["id"]))
    assert results(sub, doc["id"])[-1]["reason"] == "replayed"
    remote = rt.remote
    online = sub.status.statuses().count(b"online")  # type: ignore[attr-defined]
    await rt.restart("test")
    assert rt.remote is remote  # the part outlives a runtime restart
    await subscribed(sub, online)
    send(sub, doc)
    await sub.wait_for(lambda: states(sub, doc["id"]).count("REJECTED") == 2)
    section = rt.remote.section()
    assert section.succeeded == 1 and section.rejected_by_reason == {"replayed": 2}


async def test_refusals_are_published_with_their_reason(device, ops_key, tmp_path) -> None:
    rt, sub = device
    refusals: list[tuple[str, str | None]] = []
    assert rt.remote is not None
    rt.remote.on_refused = lambda code, msg, cid, kid: refusals.append((code, cid))
    key = load_private_key(ops_key[0])
    stranger = load_private_key(generate_keypair(tmp_path / "stranger")[0])
    send(sub, json.dumps({"command": "flush"}).encode())  # the old unsigned flush
    forged = sign_command(key, "ota.check", targets=[DEVICE])
    forged["command"] = "ota.rollback"
    send(sub, forged)
    unknown = sign_command(stranger, "ota.check", targets=[DEVICE])
    send(sub, unknown)
    elsewhere = sign_command(key, "ota.check", targets=["cam-999"])
    send(sub, elsewhere)
    bad = sign_command(key, "agents.restart", targets=["all"], params={"who": "x"})
    send(sub, bad)
    await sub.wait_for(lambda: len(sub.rows()) == 5)
    assert [(r["state"], r["reason"]) for r in sub.rows()] == [
        ("REJECTED", "malformed"),
        ("REJECTED", "bad_signature"),
        ("REJECTED", "unknown_key"),
        ("REJECTED", "not_for_this_device"),
        ("REJECTED", "bad_params"),
    ]
    assert [r["command_id"] for r in sub.rows()][1:] == [
        forged["id"],
        unknown["id"],
        elsewhere["id"],
        bad["id"],
    ]
    assert all(r["message"] and "\n" not in r["message"] for r in sub.rows())
    assert [c for c, _ in refusals] == [
        "malformed",
        "bad_signature",
        "unknown_key",
        "not_for_this_device",
        "bad_params",
    ]
    assert rt.remote.section().rejected == 5


async def test_a_command_that_fails_says_why(device, ops_key) -> None:
    _rt, sub = device
    key = load_private_key(ops_key[0])
    restart = sign_command(key, "agents.restart", targets=["type:generic"], params={"name": "x"})
    validate = sign_command(key, "validate", targets=["all"])
    send(sub, restart)
    send(sub, validate)
    await sub.wait_for(lambda: "FAILED" in states(sub, validate["id"]))
    assert states(sub, restart["id"])[-1] == "FAILED"
    # No model on this device: the suite runs and fails, and the result says which check.
    assert results(sub, validate["id"])[-1]["message"].startswith("validate did not pass: ")


async def test_timed_out_and_expired_while_queued(state_dir: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
    )

    key = Ed25519PrivateKey.generate()
    pub = state_dir / "ops.pub"
    pub.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    sent: list[dict[str, Any]] = []
    gate = asyncio.Event()

    async def call(method: str, params: dict[str, Any], key_id: str) -> Any:
        await gate.wait()  # a method that does not come back in time
        return {}

    async def publish(record: dict[str, Any]) -> None:
        sent.append(record)

    remote = RemoteCommands(
        RemoteConfig(trusted_keys=[str(pub)], command_timeout_s=2.0),
        state_dir,
        device_id=DEVICE,
        device_type="generic",
        call=call,
        publish=publish,
    )
    await remote.start()
    try:
        slow = sign_command(key, "ota.check", targets=[DEVICE])
        short = sign_command(key, "ota.check", targets=[DEVICE], expires_in_s=1.5)
        await remote.handle(json.dumps(slow).encode())
        await remote.handle(json.dumps(short).encode())
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while len([r for r in sent if r["state"] == "TIMED_OUT"]) < 2:
            assert loop.time() < end, sent
            await asyncio.sleep(0.02)
        by_id = {r["command_id"]: r["state"] for r in sent}
        assert by_id == {slow["id"]: "TIMED_OUT", short["id"]: "TIMED_OUT"}
        assert [r["state"] for r in sent if r["command_id"] == short["id"]] == [
            "QUEUED",
            "TIMED_OUT",
        ]
        assert "expired" in sent[-1]["message"]
    finally:
        gate.set()
        await remote.close()
