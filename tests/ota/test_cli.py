"""`edgetui ota ...` and `edgetui demo publish` through the real CLI (standalone runtime)."""

from __future__ import annotations

import json
import tarfile

import pytest

from edgetui.demo import prepare
from edgetui.ota.bundle import verify_bundle
from edgetui.ota.slots import SlotStore
from tests.support.cli import run_cli
from tests.support.ota import OtaDevice

pytestmark = pytest.mark.timeout(120)


def ota(dev: OtaDevice, *args: str, input: str | None = None):
    config = dev.write_config()
    return run_cli(
        "--config", str(config), "--state-dir", str(dev.state_dir), "ota", *args, input=input
    )


def test_status_text_and_json(ota_device: OtaDevice) -> None:
    proc = ota(ota_device, "status")
    assert proc.returncode == 0, proc.stderr
    assert "=== Slot States ===" in proc.stdout
    assert "x [a]" in proc.stdout and "booted, primary" in proc.stdout
    st = json.loads(ota(ota_device, "status", "--json").stdout)
    assert st["booted"] == "a" and st["slots"]["a"]["status"] == "good"
    assert set(st["slots"]) == {"a", "b"}


def test_check(ota_device: OtaDevice) -> None:
    proc = ota(ota_device, "check")
    assert proc.returncode == 0, proc.stderr
    assert "update available: 1.1.0 (installed: 1.0.0)" in proc.stdout
    offer = json.loads(ota(ota_device, "check", "--json").stdout)
    assert offer["available"] is True and offer["version"] == "1.1.0"


def test_apply_json_streams_progress_then_history_and_rollback(ota_device: OtaDevice) -> None:
    proc = ota(ota_device, "apply", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    phases = [x["progress"]["phase"] for x in lines if "progress" in x]
    assert phases[0] == "verify" and phases[-1] == "done"
    assert {"download", "extract", "switch", "health"} <= set(phases)
    final = lines[-1]
    assert final["result"] == "done" and final["ota"]["booted"] == "b"

    history = json.loads(ota(ota_device, "history", "--json").stdout)
    assert [h["action"] for h in history[:2]] == ["commit", "update"]
    assert "factory install" in ota(ota_device, "history").stdout

    proc = ota(ota_device, "commit")
    assert proc.returncode == 0 and "already good" in proc.stdout

    proc = ota(ota_device, "rollback", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "rolled back to 1.0.0 (slot a)" in proc.stdout
    st = json.loads(ota(ota_device, "status", "--json").stdout)
    assert st["booted"] == "a" and st["primary"] == "a"


def test_refused_apply_exits_1_with_one_line(ota_device: OtaDevice) -> None:
    m = json.loads(ota_device.manifest.read_text())
    m["version"] = "9.9.9"
    ota_device.manifest.write_text(json.dumps(m))
    proc = ota(ota_device, "apply", "--yes")
    assert proc.returncode == 1
    err = [line for line in proc.stderr.splitlines() if line.startswith("edgetui:")]
    assert err == [err[0]] and "does not verify" in err[0]


def test_rollback_without_a_good_slot_exits_1(ota_device: OtaDevice) -> None:
    proc = ota(ota_device, "rollback", "--yes")
    assert proc.returncode == 1
    assert "cannot roll back: slot b is empty" in proc.stderr


def test_demo_init_and_publish(tmp_path) -> None:
    state = tmp_path / "demo"
    config = prepare(state)
    text = config.read_text()
    assert "manifest_url" in text and "demo.pub" in text
    st = SlotStore(state).load()
    assert st.slots["a"].status == "good" and st.slots["a"].version == "1.0.0"
    assert SlotStore(state).current() == "a"
    m = verify_bundle(state / "repo" / "manifest.json", None, [str(state / "keys" / "demo.pub")])
    assert m.version == "1.1.0"
    prepare(state)  # idempotent: the factory slot is left alone
    assert SlotStore(state).load().slots["a"].installed_at == st.slots["a"].installed_at

    proc = run_cli(
        "--state-dir", str(state), "demo", "publish", "--version", "1.2.0", "--broken", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["version"] == "1.2.0"
    with tarfile.open(state / "repo" / "edgetui-1.2.0.tar.gz") as tar:
        sensor = tar.extractfile("agents/sensor.py")
        assert sensor is not None and b"broken on purpose" in sensor.read()
