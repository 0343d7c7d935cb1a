"""A real mosquitto broker on a free loopback port, for bus-bridge and uplink tests.

`start_mosquitto(tmp_path, extra_conf)` writes a config file into tmp_path and starts
/usr/sbin/mosquitto with it; `extra_conf` is appended verbatim (listeners with TLS options,
`require_certificate`, ...). The `mosquitto` fixture yields a plain-listener Broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edgetui.bench.broker import free_port, stop_process, wait_accepts
from tests.support.reaper import reaped

MOSQUITTO = "/usr/sbin/mosquitto"


@dataclass
class Broker:
    """A running mosquitto: connect to host:port (or url); `stop()` kills it."""

    host: str
    port: int
    conf: Path
    log: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self) -> None:
        stop_process(self.proc)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_mosquitto(
    tmp_path: Path,
    extra_conf: str = "",
    *,
    port: int | None = None,
    listener: bool = True,
    name: str = "mosquitto",
) -> Broker:
    """Start mosquitto with a plain listener on 127.0.0.1:`port` (a free one by default)
    plus `extra_conf`; returns once `port` accepts connections. `listener=False` leaves the
    listener lines to `extra_conf` (then `port` must be the one it opens)."""
    if not Path(MOSQUITTO).exists():
        pytest.skip(f"{MOSQUITTO} not installed")
    port = port or free_port()
    workdir = tmp_path / name
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "mosquitto.conf"
    log = workdir / "mosquitto.log"
    lines = ["persistence false", f"log_dest file {log}", "log_type all"]
    if "max_queued_messages" not in extra_conf:
        # mosquitto drops QoS 1 messages beyond 1000 queued for a slow subscriber: a test's
        # subscriber on a loaded machine must not lose what the device delivered.
        lines.append("max_queued_messages 0")
    if os.geteuid() == 0:
        lines.append("user root")  # else it drops to "mosquitto", who cannot read tmp_path
    if listener:
        lines += [f"listener {port} 127.0.0.1", "allow_anonymous true"]
    conf.write_text("\n".join(lines) + "\n" + extra_conf + "\n")
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **reaped(signal.SIGTERM),  # gone with pytest, even a SIGKILLed one
    )
    broker = Broker("127.0.0.1", port, conf, log, proc)
    if not wait_accepts("127.0.0.1", port):
        broker.stop()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"mosquitto did not start on port {port}: {err}{broker.log_text()}")
    return broker


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A fresh plain-listener broker for one test."""
    broker = start_mosquitto(tmp_path)
    try:
        yield broker
    finally:
        broker.stop()
