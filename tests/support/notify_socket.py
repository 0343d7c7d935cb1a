"""A fake systemd notification socket: an AF_UNIX datagram socket that records every
sd_notify message a process sends to `$NOTIFY_SOCKET`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path


class FakeNotifySocket:
    """Bind at `path` (or `@name` in the abstract namespace); `messages` holds each datagram
    as a dict of its KEY=VALUE lines, in arrival order."""

    def __init__(self, path: Path | str) -> None:
        self.address = str(path)
        target: str | bytes = self.address
        if self.address.startswith("@"):
            target = b"\0" + self.address[1:].encode()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(target)
        self._sock.settimeout(0.1)
        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="fake-notify", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append(fields)

    def count(self, key: str, value: str = "1") -> int:
        """How many messages carried KEY=value."""
        with self._lock:
            return sum(1 for m in self.messages if m.get(key) == value)

    def wait_for(self, cond: Callable[[FakeNotifySocket], bool], timeout: float = 30) -> None:
        """Poll until cond(self) holds; AssertionError (with what arrived) at the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"condition not met; messages: {self.messages[-10:]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
        if not self.address.startswith("@"):
            Path(self.address).unlink(missing_ok=True)
