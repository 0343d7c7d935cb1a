"""Fixtures for the OTA release side: a key pair, a slot source tree, a built bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from edgetui.keys import generate_keypair
from edgetui.ota.bundle import build_bundle
from edgetui.ota.manifest import Manifest


@dataclass
class Keys:
    key: Path
    pub: Path


@dataclass
class Built:
    manifest: Manifest
    manifest_path: Path
    package: Path
    keys: Keys


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    key, pub = generate_keypair(tmp_path / "keys" / "release")
    return Keys(key, pub)


@pytest.fixture
def other_keys(tmp_path: Path) -> Keys:
    key, pub = generate_keypair(tmp_path / "keys" / "other")
    return Keys(key, pub)


def make_source(root: Path, *, model_bytes: bytes = b"GGUF" + bytes(range(256)) * 40) -> Path:
    """A slot tree: agents/, model/tiny.gguf, golden.json, config."""
    (root / "agents").mkdir(parents=True)
    (root / "agents" / "sensor.py").write_text("async def run(ctx):\n    pass\n")
    (root / "model").mkdir()
    (root / "model" / "tiny.gguf").write_bytes(model_bytes)
    (root / "golden.json").write_text('[{"event": {"type": "MOTION_DETECTED"}, "allowed": []}]')
    (root / "agents.toml").write_text("[sensor]\nenabled = true\n")
    return root


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "src")


@pytest.fixture
def built(tmp_path: Path, source: Path, keys: Keys) -> Built:
    """Version 1.2.0, rollback 1.1.0, targets all; published in tmp_path/www (http_server root)."""
    out = tmp_path / "www"
    m = build_bundle(source, "1.2.0", keys.key, out, rollback_version="1.1.0")
    return Built(m, out / "manifest.json", out / m.update_package_url, keys)
