"""The demo ships the trained decision model: its releases carry it with a golden set that
checks actions, and a `--regressed` release (night motion mislabelled) is rolled back by the
real OTA path with the golden accuracy in the reason."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from edgetui.config import parse_config
from edgetui.demo import prepare
from edgetui.inference import SHIPPED_MODEL, gguf_metadata
from edgetui.ota.slots import SlotStore
from tests.ota.test_service import running, wait_booted, wait_phase
from tests.support.cli import run_cli

pytestmark = pytest.mark.timeout(180)


def demo_config(state: Path):
    cfg = parse_config(tomllib.loads((state / "config.toml").read_text()), "demo config")
    cfg.agents.enabled = []
    cfg.ota.health_window_s = 0.5
    cfg.ota.health_timeout_s = 60.0
    cfg.ota.check_interval_s = 3600.0
    cfg.inference.timeout_s = 120.0
    return cfg


def test_demo_init_installs_the_shipped_model_greedy(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    config = prepare(state)
    assert tomllib.loads(config.read_text())["inference"]["temperature"] == 0.0
    store = SlotStore(state)
    assert store.load().slots["a"].version == "1.0.0"
    slot = store.slot_dir("a")
    assert (slot / "model" / SHIPPED_MODEL.name).read_bytes() == SHIPPED_MODEL.read_bytes()
    golden = json.loads((slot / "golden.json").read_text())
    assert golden["pass_bar"] == "28/30" and len(golden["cases"]) == 30
    assert all("expected" in c for c in golden["cases"])
    assert gguf_metadata(SHIPPED_MODEL)  # a readable GGUF
    assert SHIPPED_MODEL.stat().st_size <= 2 * 1024 * 1024


async def test_the_regressed_release_rolls_back_naming_the_accuracy(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    prepare(state)
    proc = run_cli(
        "--state-dir", str(state), "demo", "publish", "--version", "1.2.0", "--regressed"
    )
    assert proc.returncode == 0, proc.stderr
    assert "published regressed release 1.2.0" in proc.stdout

    class Dev:
        state_dir = state

    async with running(Dev, demo_config(state)) as (rt, notes):  # type: ignore[arg-type]
        await rt.call("ota.apply")
        note = await wait_phase(notes, "rolled_back", "done", timeout=120)
        await wait_booted(rt, "a", timeout=60)
        st = await rt.call("ota.status")
    assert note["phase"] == "rolled_back", note
    assert "golden 22/30 < 28/30" in note["message"]
    assert "golden 22/30 < 28/30" in st["last_rollback_reason"]
    assert st["slots"]["b"]["status"] == "bad" and st["slots"]["b"]["version"] == "1.2.0"
    # The factory model answered the same golden set before the update.
    assert st["validation"]["before"]["golden"]["passed"] >= 28
