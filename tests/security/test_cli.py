"""The operator side and the buffer commands against a real `edgetui daemon` subprocess and
a real mosquitto: command sign/send, buffer export (sealed / --decrypt), rotate-key."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.helpers import MARKER
from tests.support.cli import run_cli, start_daemon


@pytest.fixture
def daemon(tmp_path: Path, mosquitto) -> Iterator[tuple[Path, Path, str]]:
    state = tmp_path / "state"
    assert run_cli("keys", "generate", "--out", str(tmp_path / "ops")).returncode == 0
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[device]\nid = "cli-dev"\ntype = "camera"\n[agents]\nenabled = []\n'
        f'[uplink]\nurl = "{mosquitto.url}"\n'
        f'[remote]\ntrusted_keys = ["{tmp_path / "ops.pub"}"]\n'
        '[bus]\noutbox_types = ["MARK"]\n'
    )
    proc = start_daemon(state, config=cfg)
    try:
        yield state, tmp_path / "ops.key", mosquitto.url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sign_then_send_waits_for_the_result(daemon, tmp_path: Path) -> None:
    _state, key, url = daemon
    doc = tmp_path / "flush.json"
    signed = run_cli(
        "command",
        "sign",
        "--key",
        str(key),
        "--target",
        "cli-dev",
        "buffer.flush",
        "--param",
        "timeout=5",
        "--expires-in",
        "10m",
        "--out",
        str(doc),
    )
    assert signed.returncode == 0, signed.stderr
    body = json.loads(doc.read_text())
    assert body["params"] == {"timeout": 5} and body["targets"] == ["cli-dev"]
    sent = run_cli("command", "send", "--broker", url, str(doc), "--json", "--timeout", "30")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    lines = [json.loads(x) for x in sent.stdout.splitlines()]
    assert [x["state"] for x in lines] == ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    assert all(x["command_id"] == body["id"] for x in lines)
    # Sent twice: refused as a replay, exit 1, the reason printed.
    again = run_cli("command", "send", "--broker", url, str(doc), "--timeout", "30")
    assert again.returncode == 1
    assert "cli-dev: REJECTED replayed command id" in again.stdout
    # type:camera reaches it too, with --device naming where to send.
    typed = run_cli(
        "command",
        "sign",
        "--key",
        str(key),
        "--target",
        "type:camera",
        "ota.check",
    )
    (tmp_path / "check.json").write_text(typed.stdout)
    no_device = run_cli("command", "send", "--broker", url, str(tmp_path / "check.json"))
    assert no_device.returncode == 2 and "give --device ID" in no_device.stderr
    checked = run_cli(
        "command", "send", "--broker", url, str(tmp_path / "check.json"), "--device", "cli-dev"
    )
    # No [ota] manifest_url on this device: the check runs and fails, saying why.
    assert checked.returncode == 1 and "cli-dev: FAILED" in checked.stdout


def test_sign_refuses_bad_usage(tmp_path: Path) -> None:
    assert run_cli("keys", "generate", "--out", str(tmp_path / "k")).returncode == 0
    key = str(tmp_path / "k.key")
    bad = run_cli("command", "sign", "--key", key, "--target", "all", "reboot")
    assert bad.returncode == 2 and "unknown command 'reboot'" in bad.stderr
    bad = run_cli(
        "command", "sign", "--key", key, "--target", "all", "ota.check", "--expires-in", "soon"
    )
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    bad = run_cli(
        "command", "sign", "--key", str(tmp_path / "k.pub"), "--target", "all", "ota.check"
    )
    assert bad.returncode == 1 and "private key" in bad.stderr


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Path]:
    """A daemon with no broker: what it queues stays queued."""
    state = tmp_path / "state"
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[device]\nid = "cli-dev"\n[agents]\nenabled = []\n[bus]\noutbox_types = ["MARK"]\n'
        "[telemetry]\npublish_interval_s = 3600\n"
    )
    proc = start_daemon(state, config=cfg)
    try:
        yield state
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_buffer_export_is_ciphertext_unless_decrypt_and_rotate_key(offline, tmp_path) -> None:
    state = offline
    for _ in range(3):
        proc = run_cli(
            "--state-dir",
            str(state),
            "bus",
            "publish",
            "MARK",
            "--data",
            json.dumps({"text": MARKER}),
        )
        assert proc.returncode == 0, proc.stderr
    stats = json.loads(run_cli("--state-dir", str(state), "buffer", "stats", "--json").stdout)
    enc = stats["encryption"]
    assert enc["enabled"] and enc["alg"] == "AES-256-GCM" and enc["keys"] == 1
    assert enc["key_file"] == str(state / "keys" / "outbox.key")
    text = run_cli("--state-dir", str(state), "buffer", "stats").stdout
    assert f"sealed     AES-256-GCM, data key {enc['key_id']}" in text
    rotated = run_cli("--state-dir", str(state), "buffer", "rotate-key", "--json")
    assert rotated.returncode == 0, rotated.stderr
    out = json.loads(rotated.stdout)
    assert out["previous"] == enc["key_id"] and out["key_id"] != enc["key_id"]
    sealed_file, clear_file = tmp_path / "sealed.ndjson", tmp_path / "clear.ndjson"
    proc = run_cli(
        "--state-dir", str(state), "buffer", "export", "--out", str(sealed_file), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert MARKER not in sealed_file.read_text()
    proc = run_cli(
        "--state-dir", str(state), "buffer", "export", "--out", str(clear_file), "--decrypt"
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in clear_file.read_text().splitlines()]
    assert all("message" in x and "sealed" not in x for x in lines)
    assert [x["message"]["data"]["text"] for x in lines if x["kind"] == "event"] == [MARKER] * 3
