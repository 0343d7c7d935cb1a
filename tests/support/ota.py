"""An OTA test device: real keys, real signed bundles, a factory-installed slot "a".

`ota_device` gives an `OtaDevice` with a state dir whose slot "a" holds 1.0.0 (good,
booted), a key pair, and a repository dir (`repo/`) where `publish()` builds signed bundles.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edgetui.config import Config
from edgetui.inference.tiny_model import make_tiny_model
from edgetui.keys import generate_keypair
from edgetui.ota.bundle import build_bundle
from edgetui.ota.factory import install_factory
from edgetui.ota.slots import SlotStore, content_digest

GOLDEN = [
    {
        "event": {"type": "MOTION_DETECTED", "data": {"location": "front_door"}},
        "allowed": ["SPEAK_WARNING", "NOTIFY", "IGNORE"],
    }
]
BROKEN_AGENT = '''"""Broken on purpose: crashes as soon as it starts."""


async def run(ctx):
    raise RuntimeError("sensor agent broken on purpose")
'''
# Kills its whole process at start: the crash-before-commit case of a real device.
KILLER_AGENT = '''"""Kills the runtime process as soon as it starts."""
import os
import signal


async def run(ctx):
    os.kill(os.getpid(), signal.SIGKILL)
'''


def make_source(
    dest: Path, *, seed: int = 0, agent: str | None = None, golden: bool | object = True
) -> Path:
    """A slot's content: tiny model, golden prompts (GOLDEN, or the given document),
    optional sensor agent override."""
    dest.mkdir(parents=True, exist_ok=True)
    make_tiny_model(dest / "model" / "tiny.gguf", seed=seed)
    if golden is not False:
        doc = GOLDEN if golden is True else golden
        (dest / "golden.json").write_text(json.dumps(doc))
    agents = dest / "agents"
    agents.mkdir(exist_ok=True)
    if agent:
        (agents / "sensor.py").write_text(agent)
    return dest


@dataclass
class OtaDevice:
    root: Path
    state_dir: Path = field(init=False)
    repo: Path = field(init=False)
    key: Path = field(init=False)
    pub: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state_dir = self.root / "state"
        self.repo = self.root / "repo"
        self.key, self.pub = generate_keypair(self.root / "keys" / "release")
        self.repo.mkdir(parents=True, exist_ok=True)

    @property
    def manifest(self) -> Path:
        return self.repo / "manifest.json"

    def publish(
        self,
        version: str,
        *,
        seed: int | None = None,
        agent: str | None = None,
        out: Path | None = None,
        key: Path | None = None,
        golden: bool | object = True,
        **kw: object,
    ) -> Path:
        """Build a signed bundle of a fresh source into the repo; returns the manifest."""
        src = make_source(self.root / "src" / version, seed=seed or 0, agent=agent, golden=golden)
        out = out or self.repo
        build_bundle(src, version, key or self.key, out, **kw)  # type: ignore[arg-type]
        shutil.rmtree(src)
        return out / "manifest.json"

    def factory(self, version: str = "1.0.0") -> None:
        """Install `version` into slot a as the good, booted factory image."""
        manifest = self.publish(version, out=self.root / "factory")
        install_factory(self.state_dir, manifest, [str(self.pub)])

    def config(self, **ota: object) -> Config:
        cfg = Config()
        cfg.device.id = "test-device"
        cfg.device.type = "test-kit"
        cfg.telemetry.interval_s = 0.5
        cfg.agents.enabled = []
        cfg.ota.manifest_url = str(self.manifest)
        cfg.ota.trusted_keys = [str(self.pub)]
        cfg.ota.health_window_s = 0.5
        cfg.ota.health_timeout_s = 20.0
        cfg.ota.check_interval_s = 3600.0
        cfg.ota.download_timeout_s = 3.0
        for k, v in ota.items():
            setattr(cfg.ota, k, v)
        return cfg

    def write_config(
        self, manifest_url: str | None = None, agents: list[str] | None = None
    ) -> Path:
        """A TOML config for subprocess runs (daemon, CLI) of this device."""
        enabled = ", ".join(f'"{a}"' for a in agents or [])
        path = self.root / "config.toml"
        path.write_text(
            f"""
[device]
id = "test-device"
type = "test-kit"

[telemetry]
interval_s = 0.5

[ota]
manifest_url = "{manifest_url or self.manifest}"
trusted_keys = ["{self.pub}"]
health_window_s = 0.5
health_timeout_s = 20.0
download_timeout_s = 5.0

[agents]
enabled = [{enabled}]

[agents.sensor]
simulate = false
cpu_temperature_interval_s = 0
"""
        )
        return path

    def store(self) -> SlotStore:
        return SlotStore(self.state_dir)

    def verified_boot_slot(self) -> tuple[str, dict]:
        """(current slot, its recorded state) after checking content against the record."""
        store = self.store()
        cur = store.current()
        assert cur is not None, "no slots/current link"
        state = store.load()
        s = state.slots[cur]
        assert s.content_sha256 == content_digest(store.slot_dir(cur)), f"slot {cur} altered"
        record = json.loads((store.slot_dir(cur) / "slot.json").read_text())
        assert record["version"] == s.version
        return cur, {"status": s.status, "version": s.version, "attempts": s.boot_attempts}


@pytest.fixture
def ota_device(tmp_path: Path) -> OtaDevice:
    dev = OtaDevice(tmp_path / "dev")
    dev.factory("1.0.0")
    dev.publish("1.1.0", seed=1, changes="new weights")
    return dev
