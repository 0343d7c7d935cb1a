"""Crash safety: SIGKILL the daemon at every OTA step, restart it, and check that it boots a
slot whose content matches its recorded checksum, with a status that tells the truth."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from edgetui.api import APIError
from edgetui.control import RuntimeClient, socket_path
from tests.support.cli import start_daemon
from tests.support.http_server import FileServer, serve_directory
from tests.support.ota import KILLER_AGENT, OtaDevice

pytestmark = pytest.mark.timeout(120)


def call(state_dir: Path, method: str, params: dict[str, Any] | None = None) -> Any:
    async def go() -> Any:
        client = await RuntimeClient.connect(socket_path(state_dir))
        try:
            return await client.call(method, params or {})
        finally:
            await client.close()

    return asyncio.run(go())


def wait_ready(state_dir: Path, timeout: float = 30) -> None:
    """The daemon's socket answers before its runtime has started: wait for the OTA part."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(APIError, OSError):
            call(state_dir, "ota.status")
            return
        time.sleep(0.05)
    raise AssertionError("the daemon's OTA service never answered")


def settled_status(
    state_dir: Path, timeout: float = 60, booted: str | None = None
) -> dict[str, Any]:
    """`ota.status` once no trial boot or health check is pending (and `booted` is booted)."""
    want = booted
    end = time.monotonic() + timeout
    st: dict[str, Any] = {}
    while time.monotonic() < end:
        with contextlib.suppress(APIError, OSError):
            st = call(state_dir, "ota.status")
            health = (st.get("health") or {}).get("state")
            booted = st.get("booted")
            wanted = want is None or booted == want
            settled = bool(booted) and st["slots"][booted]["status"] != "trial"
            if wanted and settled and health != "running":
                return st
        time.sleep(0.2)
    raise AssertionError(f"OTA did not settle: {st}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(ota_device: OtaDevice) -> tuple[OtaDevice, FileServer]:
    # No golden prompts here: llama.cpp timing on a loaded machine is not what these test
    # (test_service runs the golden check); the model checksum and agents checks remain.
    ota_device.publish("1.1.0", seed=1, golden=False)
    with serve_directory(ota_device.repo) as server:
        yield ota_device, server


# step -> (slot booted after the restart, its status, what slot b says)
EXPECTED = {
    "ota.mid_download": ("a", "empty", None),
    "ota.after_download": ("a", "empty", None),
    "ota.mid_extract": ("a", "empty", "install of 1.1.0 was interrupted"),
    "ota.after_extract": ("a", "empty", "install of 1.1.0 was interrupted"),
    "ota.before_switch": ("a", "bad", "interrupted before the switch"),
    "ota.after_switch": ("b", "good", None),
    "ota.first_boot": ("b", "good", None),
    "ota.health_check": ("b", "good", None),
    "ota.before_commit": ("b", "good", None),
    "ota.after_commit": ("b", "good", None),
}


@pytest.mark.parametrize("step", list(EXPECTED))
def test_kill_at_step_then_restart(step: str, served: tuple[OtaDevice, FileServer]) -> None:
    dev, server = served
    if step == "ota.mid_download":  # and an absolute package URL this time
        dev.publish("1.1.0", seed=1, golden=False, url_base=server.url().rstrip("/"))
    config = dev.write_config(server.url("manifest.json"))
    proc = start_daemon(dev.state_dir, config=config, env_extra={"EDGETUI_FAULT": step})
    try:
        wait_ready(dev.state_dir)
        with contextlib.suppress(APIError, OSError):
            call(dev.state_dir, "ota.apply")
        assert proc.wait(timeout=60) == -signal.SIGKILL, f"{step} was never reached"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    proc = start_daemon(dev.state_dir, config=config)
    try:
        st = settled_status(dev.state_dir)
        booted, status, b_error = EXPECTED[step]
        assert st["booted"] == booted and st["primary"] == booted
        assert st["slots"][booted]["status"] == "good"
        assert st["slots"]["a"]["status"] == "good"
        if booted == "a":
            assert st["slots"]["b"]["status"] == status
            if b_error:
                assert b_error in st["slots"]["b"]["last_error"]
            else:
                assert st["slots"]["b"]["installing"] is None
            # The interrupted update can be applied again, and then it commits.
            call(dev.state_dir, "ota.apply")
            st = settled_status(dev.state_dir, booted="b")
            assert st["booted"] == "b" and st["slots"]["b"]["status"] == "good", st
        else:
            assert st["slots"]["b"]["version"] == "1.1.0"
            assert st["slots"]["b"]["boot_attempts"] == 0
    finally:
        stop(proc)
    cur, slot = dev.verified_boot_slot()
    assert cur == "b" and slot["status"] == "good"
    if step == "ota.mid_download":
        assert any(r.range for r in server.requests), "the second download did not resume"


def boots_for_good(proc: subprocess.Popen[str], state_dir: Path, timeout: float = 60) -> bool:
    """True once the daemon runs a committed slot; False when it dies first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(APIError, OSError):
            st = call(state_dir, "ota.status")
            if st["booted"] and st["slots"][st["booted"]]["status"] == "good":
                return True
        time.sleep(0.1)
    raise AssertionError("the daemon neither died nor booted a good slot")


def test_agents_crashing_every_boot_roll_back_after_the_limit(
    served: tuple[OtaDevice, FileServer],
) -> None:
    dev, server = served
    dev.publish("1.1.0", agent=KILLER_AGENT, golden=False)
    config = dev.write_config(server.url("manifest.json"), agents=["sensor"])
    proc = start_daemon(dev.state_dir, config=config)
    wait_ready(dev.state_dir)
    with contextlib.suppress(APIError, OSError):
        call(dev.state_dir, "ota.apply")
    assert proc.wait(timeout=60) == -signal.SIGKILL  # trial boot 1 killed by its agent
    starts = 1
    while True:
        assert starts <= 5, "never rolled back"
        starts += 1
        try:
            proc = start_daemon(dev.state_dir, config=config)
        except RuntimeError:  # killed before its socket answered
            continue
        if boots_for_good(proc, dev.state_dir):
            break
    try:
        st = settled_status(dev.state_dir)
    finally:
        stop(proc)
    assert starts == 4  # attempts 1..3 crashed; the 4th start exceeds the limit of 3
    assert st["booted"] == "a" and st["slots"]["b"]["status"] == "bad"
    assert "boot attempts exhausted (3)" in st["slots"]["b"]["last_error"]
    assert "boot attempts exhausted" in st["last_rollback_reason"]
    assert dev.verified_boot_slot()[0] == "a"
