"""A throwaway local mosquitto for benchmarks (Debian's /usr/sbin/mosquitto)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def find_mosquitto() -> str | None:
    for p in MOSQUITTO_PATHS:
        if Path(p).exists():
            return p
    return shutil.which("mosquitto")


def free_port() -> int:
    """A TCP port nothing listens on right now (on 127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepts(host: str, port: int, timeout: float = 15.0, proc: Any = None) -> bool:
    """True once something accepts TCP connections on host:port (False if `proc` ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if it lingers; returns once it is gone."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class LocalBroker:
    """mosquitto on a free loopback port, config and log in `workdir`; stop() ends it.
    `extra`: more lines for its config file."""

    def __init__(self, workdir: Path, exe: str, extra: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            f"log_dest file {workdir / 'mosquitto.log'}",
            "log_type error",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        lines += extra
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if not wait_accepts("127.0.0.1", self.port, 10, self.proc):
            self.stop()
            raise RuntimeError(f"mosquitto did not start on port {self.port}")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc)
