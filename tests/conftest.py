"""Shared fixtures. Each part keeps its real-component fixtures in tests/support/ and
registers them here."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.config import Config

pytest_plugins: list[str] = [
    "tests.support.mosquitto",
    "tests.support.http_server",
    "tests.support.ota",
    "tests.support.model",
]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture
def config() -> Config:
    cfg = Config()
    cfg.device.id = "test-device"
    cfg.telemetry.interval_s = 0.2
    return cfg
