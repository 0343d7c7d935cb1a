"""Shared fixtures. Each part keeps its real-component fixtures in tests/support/ and
registers them here."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.config import Config
from tests.support import reaper

# Before anything spawns: children of the pytest main thread die with it (SIGKILL included).
reaper.install_default()

pytest_plugins: list[str] = [
    "tests.support.native",  # @pytest.mark.native runs forked; the in-process llama.cpp guard
    "tests.support.mosquitto",
    "tests.support.http_server",
    "tests.support.ota",
    "tests.support.model",
    "tests.support.digest",
    "tests.support.postgres",
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
    # The built-in alert rules judge the real machine (a busy CPU, a full disk) and would
    # put ALERT_* events on the bus and alert messages in the outbox of tests about other
    # parts; tests about alerts turn them on.
    cfg.alerts.enabled = False
    return cfg


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A leaked non-daemon thread (an unclosed SQLite connection, say) would keep the
    interpreter alive after the summary and hang CI: name it, then exit with pytest's status."""
    import os
    import sys
    import threading

    leftovers = [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
    ]
    if leftovers:
        sys.stderr.write(f"\nleaked non-daemon threads at exit: {', '.join(leftovers)}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(_exit_status)
