"""Run the real `edgetui` CLI in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edgetui.control import socket_answers, socket_path
from tests.support.reaper import reaped

ROOT = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("EDGETUI_")}
    e["PYTHONPATH"] = str(ROOT)
    return e


def run_cli(
    *args: str, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgetui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        input=input,
        cwd=ROOT,
        **reaped(signal.SIGTERM, waited=True),  # waited: also from asyncio.to_thread
    )


def run_json(*args: str, timeout: float = 60) -> Any:
    proc = run_cli(*args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def spawn_daemon(
    state_dir: Path,
    *extra: str,
    config: Path | None = None,
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start `edgetui daemon` without waiting for it (crash tests kill it at any point).

    Its output goes to `daemon.log` beside the state dir: an unread pipe would fill up and
    block a chatty daemon."""
    argv = [sys.executable, "-m", "edgetui"]
    if config:
        argv += ["--config", str(config)]
    argv += ["--state-dir", str(state_dir), *extra, "daemon"]
    log = open(Path(state_dir).parent / "daemon.log", "a")  # noqa: SIM115 - child owns it
    try:
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env(), **(env_extra or {})},
            cwd=ROOT,
            **reaped(signal.SIGTERM),  # a daemon does not outlive a killed pytest
        )
    finally:
        log.close()


def daemon_log(state_dir: Path) -> str:
    """What the daemons of this state dir printed."""
    path = Path(state_dir).parent / "daemon.log"
    return path.read_text(errors="replace") if path.exists() else ""


def start_daemon(
    state_dir: Path,
    *extra: str,
    config: Path | None = None,
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start `edgetui daemon` and wait until its socket answers (all its parts started)."""
    proc = spawn_daemon(state_dir, *extra, config=config, env_extra=env_extra)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if socket_answers(socket_path(state_dir)):
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited early: {daemon_log(state_dir)[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"daemon socket did not answer: {daemon_log(state_dir)[-2000:]}")
