"""Servers the tests start die with a SIGKILLed pytest (tests/support/reaper.py): pytest in a
subprocess starts mosquitto and PostgreSQL through the real fixtures plus an ad-hoc child,
and is killed; every one of those processes goes, PostgreSQL by its fast shutdown."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

from tests.support import inner_pytest
from tests.support.cli import env

CONFTEST = """
from tests.support import reaper

reaper.install_default()

pytest_plugins = ["tests.support.mosquitto", "tests.support.postgres"]
"""

HOLDER = """
import json
import os
import subprocess
import time
from pathlib import Path

import psutil


def test_hold_servers(mosquitto, postgres_server):
    postgres_server.create_db()  # a session open and closed: the server really serves
    postmaster = psutil.Process(postgres_server.proc.pid)
    sleeper = subprocess.Popen(["sleep", "600"])  # no reaper arguments: the default
    pids = {
        "mosquitto": [mosquitto.proc.pid],
        "postgres": [postmaster.pid] + [c.pid for c in postmaster.children(recursive=True)],
        "sleep": [sleeper.pid],
    }
    out = Path(os.environ["PIDS"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pids": pids, "pgroot": str(postgres_server.datadir.parent)}))
    tmp.rename(out)
    while True:  # until the outer test SIGKILLs this pytest
        time.sleep(0.1)
"""


def alive(pid: int) -> bool:
    """Running, not a zombie nobody reaped yet (an orphan waits for init to reap it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)


def test_a_sigkilled_pytest_leaves_no_server_running(tmp_path: Path) -> None:
    suite = inner_pytest.write_suite(
        tmp_path / "suite", {"conftest.py": CONFTEST, "test_hold.py": HOLDER}
    )
    pids_file = tmp_path / "pids.json"
    inner = subprocess.Popen(
        inner_pytest.argv(suite),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env(), "PIDS": str(pids_file)},
        cwd=suite,
    )
    held: dict[str, list[int]] = {}
    pgroot: Path | None = None
    try:
        wait_for(
            lambda: pids_file.exists() or inner.poll() is not None, 180, "the servers never started"
        )
        assert inner.poll() is None, "the inner pytest ended before holding its servers"
        info = json.loads(pids_file.read_text())
        held, pgroot = info["pids"], Path(info["pgroot"])
        assert len(held["postgres"]) > 1  # the postmaster and its own processes
        assert all(alive(p) for pids in held.values() for p in pids), held
        inner.send_signal(signal.SIGKILL)
        inner.wait(timeout=30)
        left = lambda: [p for pids in held.values() for p in pids if alive(p)]  # noqa: E731
        wait_for(lambda: not left(), 60, f"still running after pytest was killed: {held}")
        log = (pgroot / "postgres.log").read_text(errors="replace")
        assert "received fast shutdown request" in log, log[-2000:]
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait()
        for pid in (p for pids in held.values() for p in pids):
            if alive(pid):  # the test failed: do not leave them to the next run either
                psutil.Process(pid).kill()
        if pgroot is not None:
            shutil.rmtree(pgroot, ignore_errors=True)
