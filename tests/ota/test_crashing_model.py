"""An update whose model crashes the worker process is an ordinary failed health check: the
daemon lives, the trial is rolled back with the real cause in the OTA history, and the
factory model answers again. The crash is a fault point in the worker that names the
regressed release's model file (a q4_0 model, as the one that segfaulted under AMX
repacking), so the factory model (f16) loads as usual."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edgetui.demo import prepare
from edgetui.inference import SHIPPED_REGRESSED_MODEL
from edgetui.runtime import Runtime
from tests.ota.test_demo_model import demo_config
from tests.ota.test_service import running, wait_booted, wait_phase
from tests.support.cli import run_cli

pytestmark = pytest.mark.timeout(240)
CRASHING = SHIPPED_REGRESSED_MODEL.name


class Dev:
    state_dir: Path


async def _apply_and_roll_back(state: Path) -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    Dev.state_dir = state
    async with running(Dev, demo_config(state)) as (rt, notes):  # type: ignore[arg-type]
        await rt.call("ota.apply")
        note = await wait_phase(notes, "rolled_back", "done", timeout=180)
        await wait_booted(rt, "a", timeout=60)
        st = await rt.call("ota.status")
        status = await _factory_model_answers(rt)
    return note, st, status


async def _factory_model_answers(rt: Runtime) -> dict:  # type: ignore[type-arg]
    """The status once the runtime is back on 1.0.0 with its model loaded."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 60
    while True:
        status = (await rt.status()).to_dict()
        inference = status.get("inference") or {}
        if inference.get("version") == "1.0.0" and inference.get("available"):
            return status
        assert loop.time() < end, f"the factory model did not come back: {inference}"
        await asyncio.sleep(0.1)


def _published(tmp_path: Path) -> Path:
    state = tmp_path / "demo"
    prepare(state)
    proc = run_cli(
        "--state-dir", str(state), "demo", "publish", "--version", "1.2.0", "--regressed"
    )
    assert proc.returncode == 0, proc.stderr
    return state


@pytest.mark.parametrize(
    ("step", "cause"),
    [
        ("inference.worker.load", "model worker crashed (signal 11) on load"),
        ("inference.worker.decide", "model worker crashed (signal 11) while deciding"),
    ],
)
async def test_a_model_that_crashes_the_worker_fails_its_update(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, cause: str
) -> None:
    state = _published(tmp_path)
    monkeypatch.setenv("EDGETUI_FAULT", f"{step}={CRASHING}:SEGV")
    note, st, status = await _apply_and_roll_back(state)
    assert note["phase"] == "rolled_back", note
    assert cause in note["message"], note["message"]
    assert cause in st["last_rollback_reason"]
    assert st["slots"]["b"]["status"] == "bad" and st["slots"]["b"]["version"] == "1.2.0"
    rollback = next(h for h in st["history"] if h.get("action") == "rollback")
    assert cause in str(rollback), rollback
    assert "boot attempts exhausted" not in st["last_rollback_reason"]
    # Back on the factory slot, the factory model answers in a fresh worker.
    inference = status["inference"]
    assert inference["available"] and inference["worker"]["state"] == "running"
    assert inference["model"] and CRASHING not in str(inference["model_path"])
