"""One-shot commands with no daemon start only what they need (edgetui.runtime.needs): no
listener, no agent, no model, nothing uplink, no OTA boot bookkeeping for a status."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetui.bench.broker import free_port
from edgetui.config import load_config
from edgetui.ota.boot import boot
from edgetui.runtime import Runtime
from edgetui.runtime.needs import FULL, INSPECT
from edgetui.session import open_api
from tests.support.cli import ROOT, env, run_cli, run_json
from tests.support.mosquitto import Broker
from tests.support.ota import OtaDevice


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port another process holds (listening), as a daemon's exporter would."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def busy_config(tmp_path: Path, port: int, *, model: Path | None = None, broker: str = "") -> Path:
    """Every part configured: metrics listener, agents, a model, an uplink, a bus bridge."""
    cfg = tmp_path / "c.toml"
    lines = [
        "[telemetry]\ninterval_s = 0.2",
        f'[metrics]\nlisten = "127.0.0.1:{port}"',
        '[agents]\nenabled = ["sensor"]\n[agents.sensor]\ncpu_temperature_interval_s = 0',
    ]
    if model is not None:
        lines.append(f'[inference]\nmodel_path = "{model}"')
    if broker:
        lines.append(f'[uplink]\nurl = "{broker}"\n[bus]\nbridge_url = "{broker}"')
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def test_status_while_another_process_holds_the_metrics_port(
    tmp_path: Path, held_port: int
) -> None:
    cfg = busy_config(tmp_path, held_port)
    proc = run_cli("--config", str(cfg), "--state-dir", str(tmp_path / "s"), "status", "--json")
    assert proc.returncode == 0, proc.stderr
    snap = json.loads(proc.stdout)
    assert snap["mode"] == "standalone"
    assert "metrics" not in snap and "agents" not in snap  # not started: absent
    assert "failed to start" not in proc.stderr and "Address already in use" not in proc.stderr


async def test_an_inspect_runtime_binds_nothing_and_starts_no_agent_model_or_uplink(
    tmp_path: Path, tiny_model: Path, mosquitto: Broker
) -> None:
    port = free_port()
    cfg = load_config(str(busy_config(tmp_path, port, model=tiny_model, broker=mosquitto.url)))
    api = await open_api(cfg, tmp_path / "s", needs=INSPECT)
    assert isinstance(api, Runtime)
    try:
        # While it runs, the metrics port is free: this test can take it.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))
        for part in ("metrics", "agents", "inference", "uplink", "remote", "store"):
            assert getattr(api, part) is None, part
        assert api.bus is not None and api.bus.bridge is None
        assert api.ota is not None and api.ota.inspect
        snap = (await api.status()).to_dict(with_history=False)
        # The files still answer: the model that would load, the queue read-only.
        assert snap["inference"]["available"] is False
        assert snap["inference"]["model"] == "edgetui-tiny"
        assert "not loaded" in snap["inference"]["reason"]
        assert snap["buffer"]["state"] == "not_running" and snap["buffer"]["queued"] == 0
    finally:
        await api.close()
    # The same config with every part: the port is taken while it runs (the control case).
    full = Runtime(cfg, tmp_path / "s2", needs=FULL - {"uplink", "remote", "bus.bridge"})
    await full.start()
    try:
        assert full.metrics is not None and full.inference is not None
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(OSError):
            s.bind(("127.0.0.1", port))
    finally:
        await full.stop()


def test_status_sends_nothing_uplink(tmp_path: Path, mosquitto: Broker) -> None:
    cfg = busy_config(tmp_path, free_port(), broker=mosquitto.url)
    base = ("--config", str(cfg), "--state-dir", str(tmp_path / "s"))
    snap = run_json(*base, "status", "--json")
    assert snap["buffer"]["state"] == "not_running"
    stats = run_json(*base, "buffer", "stats", "--json")
    assert stats["read_only"] is True
    assert "New client connected" not in mosquitto.log_text()
    # The control case: a command whose job is to send does connect.
    proc = run_cli(*base, "buffer", "flush", "--timeout", "20", "--json", timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "New client connected" in mosquitto.log_text()


def test_status_json_does_not_import_llama_cpp(tmp_path: Path, tiny_model: Path) -> None:
    cfg = busy_config(tmp_path, free_port(), model=tiny_model)
    code = (
        "import sys\n"
        "from edgetui.cli import main\n"
        f"rc = main(['--config', {str(cfg)!r}, '--state-dir', {str(tmp_path / 's')!r}, "
        "'status', '--json'])\n"
        "print('llama_cpp' in sys.modules, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env(), cwd=ROOT,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "False"
    assert json.loads(proc.stdout)["inference"]["model"] == "edgetui-tiny"


def test_ota_status_during_a_trial_counts_no_boot_attempt(ota_device: OtaDevice) -> None:
    store = ota_device.store()
    state = store.load()
    state.slots["a"].status, state.slots["a"].boot_attempts = "trial", 1  # booted once
    store.save(state)
    base = ("--config", str(ota_device.write_config()), "--state-dir", str(ota_device.state_dir))
    for _ in range(4):  # more than max_boot_attempts (3): a counted read would roll back
        st = run_json(*base, "ota", "status", "--json")
        assert st["booted"] == "a" and st["slots"]["a"]["status"] == "trial"
        assert st["slots"]["a"]["boot_attempts"] == 1
        assert st["health"] is None  # no health check started by a read
    snap = run_json(*base, "status", "--json")
    assert snap["ota"]["slots"]["a"]["boot_attempts"] == 1
    assert store.load().slots["a"].boot_attempts == 1
    # The control case: a real boot does count the attempt.
    result = boot(store, 3)
    assert result.trial and store.load().slots["a"].boot_attempts == 2


async def test_a_read_only_ota_acts_on_no_slot(ota_device: OtaDevice) -> None:
    """A read needs no boot, so its OTA view cannot act: commit, apply and rollback refuse
    (the commands that act declare the "slot" profile and boot for real)."""
    from edgetui.api import APIError

    rt = Runtime(ota_device.config(), ota_device.state_dir, needs=INSPECT)
    await rt.start()
    try:
        assert (await rt.call("ota.status"))["booted"] == "a"
        for method in ("ota.commit", "ota.apply", "ota.rollback"):
            with pytest.raises(APIError, match="only reads the slot state") as exc:
                await rt.call(method)
            assert exc.value.data == {"code": "read_only"}, method
        # Nothing was acted on: slot a is still booted and good, b still empty.
        st = await rt.call("ota.status")
        assert st["slots"]["a"]["status"] == "good" and st["slots"]["b"]["status"] == "empty"
    finally:
        await rt.stop()
