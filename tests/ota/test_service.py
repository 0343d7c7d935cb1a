"""OtaService in a real in-process Runtime: boot, check, apply, health, commit, rollback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from edgetui.api import APIError
from edgetui.config import Config
from edgetui.runtime import Runtime
from tests.support.ota import BROKEN_AGENT, OtaDevice

pytestmark = pytest.mark.timeout(90)


@contextlib.asynccontextmanager
async def running(
    dev: OtaDevice, cfg: Config | None = None, *, runtime: type[Runtime] = Runtime, **ota: object
) -> AsyncIterator[tuple[Runtime, list[dict]]]:
    """A started runtime plus the list its ota.progress notifications land in."""
    rt = runtime(cfg or dev.config(**ota), dev.state_dir)
    notes: list[dict[str, Any]] = []

    async def collect() -> None:
        async for note in rt.subscribe(["ota.progress"]):
            notes.append(note.data)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    await rt.start()
    try:
        yield rt, notes
    finally:
        task.cancel()
        await rt.stop()


async def wait_phase(notes: list[dict], *phases: str, timeout: float = 40) -> dict:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        for n in notes:
            if n["phase"] in phases:
                return n
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {phases} in {[n['phase'] for n in notes]}")


async def wait_booted(rt: Runtime, slot: str, timeout: float = 30) -> None:
    """Until a restart has brought the runtime up on `slot`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        with contextlib.suppress(APIError):
            if (await rt.call("ota.status"))["booted"] == slot and rt._started:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"runtime did not boot slot {slot}")


async def test_boots_the_factory_slot(ota_device: OtaDevice) -> None:
    async with running(ota_device) as (rt, _):
        st = await rt.call("ota.status")
    assert st["booted"] == "a" and st["primary"] == "a"
    assert st["slots"]["a"]["status"] == "good"
    assert st["slots"]["a"]["version"] == "1.0.0"
    assert st["slots"]["a"]["sha256"].startswith("sha256:")
    assert st["slots"]["b"]["status"] == "empty"


async def test_check_says_an_update_is_available(ota_device: OtaDevice) -> None:
    async with running(ota_device) as (rt, _):
        offer = await rt.call("ota.check")
        assert offer["available"] is True
        assert offer["version"] == "1.1.0" and offer["installed_version"] == "1.0.0"
        st = await rt.call("ota.status")
    assert st["last_check"]["ok"] is True
    assert st["update"]["available"]["version"] == "1.1.0"


async def test_apply_health_commit(ota_device: OtaDevice) -> None:
    async with running(ota_device) as (rt, notes):
        result = await rt.call("ota.apply")
        assert result == {"version": "1.1.0", "slot": "b", "restarting": True}
        await wait_phase(notes, "done")
        st = await rt.call("ota.status")
        history = await rt.call("ota.history")
    phases = [n["phase"] for n in notes]
    for phase in ("download", "verify", "extract", "switch", "restarting", "health", "done"):
        assert phase in phases
    assert st["booted"] == "b" and st["primary"] == "b"
    assert st["slots"]["b"]["status"] == "good" and st["slots"]["b"]["version"] == "1.1.0"
    assert st["slots"]["a"]["status"] == "good"  # kept as the fallback
    assert st["health"]["state"] == "passed"
    assert [h["action"] for h in history[:2]] == ["commit", "update"]
    cur, slot = ota_device.verified_boot_slot()
    assert cur == "b" and slot["status"] == "good"


async def test_failed_health_check_rolls_back(ota_device: OtaDevice) -> None:
    async with running(ota_device, health_command="echo 'camera offline' >&2; exit 3") as (
        rt,
        notes,
    ):
        await rt.call("ota.apply")
        note = await wait_phase(notes, "rolled_back")
        await wait_booted(rt, "a")
        st = await rt.call("ota.status")
    assert "health command exited 3: camera offline" in note["message"]
    assert st["booted"] == "a" and st["primary"] == "a"
    assert st["slots"]["b"]["status"] == "bad"
    assert "camera offline" in st["slots"]["b"]["last_error"]
    assert "1.1.0 rolled back to 1.0.0" in st["last_rollback_reason"]
    assert ota_device.verified_boot_slot()[0] == "a"


async def test_broken_agent_fails_health_and_rolls_back(ota_device: OtaDevice) -> None:
    ota_device.publish("1.2.0", agent=BROKEN_AGENT)
    cfg = ota_device.config(health_window_s=2.0)
    cfg.agents.enabled = ["sensor"]
    # The built-in sensor with no source configured stays idle: healthy in slot a.
    cfg.agents.settings = {"sensor": {"cpu_temperature_interval_s": 0, "simulate": False}}
    async with running(ota_device, cfg) as (rt, notes):
        assert rt.agents is not None
        await rt.call("ota.apply")
        note = await wait_phase(notes, "rolled_back", "done")
        await wait_booted(rt, "a")
        st = await rt.call("ota.status")
    assert note["phase"] == "rolled_back"
    assert "agent sensor crashed" in note["message"]
    assert "broken on purpose" in st["slots"]["b"]["last_error"]
    assert st["slots"]["b"]["status"] == "bad"


async def test_auto_commit_off_waits_for_commit(ota_device: OtaDevice) -> None:
    async with running(ota_device, auto_commit=False) as (rt, notes):
        await rt.call("ota.apply")
        await wait_phase(notes, "awaiting_commit")
        st = await rt.call("ota.status")
        assert st["booted"] == "b" and st["slots"]["b"]["status"] == "trial"
        with pytest.raises(APIError, match="still on trial"):
            await rt.call("ota.apply")
        out = await rt.call("ota.commit")
        assert out["committed"] is True
        st = await rt.call("ota.status")
    assert st["slots"]["b"]["status"] == "good"


async def test_operator_rollback_and_refusal(ota_device: OtaDevice) -> None:
    async with running(ota_device) as (rt, notes):
        with pytest.raises(APIError, match="cannot roll back: slot b is empty"):
            await rt.call("ota.rollback")
        await rt.call("ota.apply")
        await wait_phase(notes, "done")
        notes.clear()
        out = await rt.call("ota.rollback")
        assert out["slot"] == "a"
        await wait_phase(notes, "restarting")
        await wait_booted(rt, "a")
        st = await rt.call("ota.status")
    assert st["booted"] == "a" and st["primary"] == "a"
    assert st["slots"]["b"]["status"] == "good"  # a committed slot stays good
    assert "operator" in st["last_rollback_reason"]
