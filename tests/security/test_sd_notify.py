"""The systemd notification protocol against a fake NOTIFY_SOCKET listener: readiness,
the watchdog pinged from the event loop (a hung loop stops pinging), and stopping."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetui.daemon import SdNotifier
from tests.support.cli import start_daemon
from tests.support.notify_socket import FakeNotifySocket


@pytest.fixture
def listener() -> Iterator[FakeNotifySocket]:
    # A short path: AF_UNIX addresses are limited to 108 bytes.
    d = Path(tempfile.mkdtemp(prefix="sdn-"))
    sock = FakeNotifySocket(d / "notify")
    yield sock
    sock.close()
    d.rmdir()


def test_environment_is_read_and_unset() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "3000000", "PATH": "/bin"}
    sd = SdNotifier.from_environment(env)
    assert sd.enabled and sd.watchdog_interval_s == 1.5
    assert env == {"PATH": "/bin"}  # children (health commands, espeak) don't inherit it


def test_watchdog_for_another_pid_is_ignored() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}
    assert SdNotifier.from_environment(env).watchdog_interval_s is None
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert SdNotifier.from_environment(env).watchdog_interval_s == 1.0


def test_without_notify_socket_nothing_is_sent() -> None:
    sd = SdNotifier.from_environment({})
    assert not sd.enabled and not sd.ready("x") and sd.watchdog_interval_s is None


def test_abstract_namespace_address() -> None:
    name = f"@edgetui-test-{uuid.uuid4().hex}"
    sock = FakeNotifySocket(name)
    try:
        sd = SdNotifier(name)
        assert sd.ready("serving")
        sock.wait_for(lambda s: s.count("READY") == 1)
        assert sock.messages[0] == {"READY": "1", "STATUS": "serving"}
    finally:
        sock.close()


def test_a_missing_listener_is_logged_not_raised(tmp_path: Path) -> None:
    sd = SdNotifier(str(tmp_path / "nobody"))
    assert sd.ping() is False and sd.failed == 1


async def test_pings_come_from_the_event_loop(listener: FakeNotifySocket) -> None:
    sd = SdNotifier(listener.address, watchdog_usec=40_000)  # ping every 20 ms
    task = asyncio.create_task(sd.run_watchdog())
    try:
        await asyncio.to_thread(listener.wait_for, lambda s: s.count("WATCHDOG") >= 3)
        # Hang the event loop (a blocking call on it) while another thread watches:
        # no ping may be sent until the loop runs again.
        released = threading.Event()
        threading.Timer(0.5, released.set).start()
        sent_before = sd.sent
        released.wait(10)  # blocks the loop, like a hung handler would
        assert sd.sent == sent_before
        assert listener.count("WATCHDOG") <= sent_before
        # The loop runs again: pings resume.
        await asyncio.to_thread(listener.wait_for, lambda s: s.count("WATCHDOG") >= sent_before + 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sd.close()


def test_daemon_speaks_the_protocol(tmp_path: Path, listener: FakeNotifySocket) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "c.toml"
    cfg.write_text("[agents]\nenabled = []\n[telemetry]\ninterval_s = 0.5\n")
    daemon = start_daemon(
        state,
        config=cfg,
        env_extra={"NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "200000"},
    )
    try:
        listener.wait_for(lambda s: s.count("READY") == 1)
        ready = next(m for m in listener.messages if m.get("READY") == "1")
        assert ready["STATUS"].startswith("serving ") and ready["STATUS"].endswith("edgetui.sock")
        listener.wait_for(lambda s: s.count("WATCHDOG") >= 3)
        # READY comes before the first ping: the socket answered before systemd was told.
        kinds = [next(iter(m)) for m in listener.messages]
        assert kinds.index("READY") < kinds.index("WATCHDOG")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        listener.wait_for(lambda s: s.count("STOPPING") == 1)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(10)
