"""systemd's readiness and watchdog protocol (sd_notify(3)), spoken directly.

The documented `NOTIFY_SOCKET` protocol: newline-separated `KEY=VALUE` assignments in one
datagram to the AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the
abstract namespace). The daemon sends `READY=1` once its control socket answers,
`WATCHDOG=1` every half `WatchdogSec=` (`$WATCHDOG_USEC`) from its event loop, and
`STOPPING=1` on the way out. Because the ping is a task on the event loop, a loop that hangs
stops pinging, and systemd kills and restarts the service (`Restart=on-failure`).

Without `$NOTIFY_SOCKET` (not under systemd, or `Type=simple`) every call is a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

NOTIFY_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class SdNotifier:
    """Sends sd_notify messages to one address; watchdog settings from systemd's env."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address or None
        self.watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self.sent = 0  # datagrams delivered to the socket
        self.failed = 0
        self._sock: socket.socket | None = None

    @classmethod
    def from_environment(
        cls, environ: MutableMapping[str, str] | None = None, *, unset: bool = True
    ) -> SdNotifier:
        """Read `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` like sd_watchdog_enabled():
        the watchdog applies only when WATCHDOG_PID is unset or names this process. With
        `unset`, remove them so child processes (health commands, espeak) don't inherit
        them, as sd_notify(unset_environment=1) does."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        if raw.isdigit() and (not pid or (pid.isdigit() and int(pid) == os.getpid())):
            usec = int(raw)
        if unset:
            for key in NOTIFY_ENV:
                env.pop(key, None)
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        """True when there is a notification socket to talk to."""
        return self.address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half the watchdog timeout, as sd_watchdog_enabled(3) advises."""
        if not self.enabled or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2_000_000

    def _target(self) -> str | bytes:
        assert self.address is not None
        if self.address.startswith("@"):  # abstract namespace: a leading NUL byte
            return b"\0" + self.address[1:].encode()
        return self.address

    def notify(self, *assignments: str) -> bool:
        """Send `KEY=VALUE` lines in one datagram; False (logged, never raised) on failure.
        Non-blocking: a full socket queue loses this message, it never stalls the loop."""
        if not self.enabled:
            return False
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.setblocking(False)
        try:
            self._sock.sendto("\n".join(assignments).encode(), self._target())
        except OSError as exc:
            self.failed += 1
            if self.failed <= 3:
                log.warning("sd_notify to %s failed: %s", self.address, exc)
            return False
        self.sent += 1
        return True

    def ready(self, status: str = "") -> bool:
        """READY=1 (and a STATUS= line for `systemctl status`)."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """STATUS=: one line shown by `systemctl status`."""
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        """STOPPING=1: the service is shutting down on purpose."""
        return self.notify("STOPPING=1", "STATUS=stopping")

    def ping(self) -> bool:
        """WATCHDOG=1: the event loop is alive."""
        return self.notify("WATCHDOG=1")

    async def run_watchdog(self) -> None:
        """Ping every watchdog_interval_s from the event loop, until cancelled. Returns at
        once when systemd asked for no watchdog."""
        interval = self.watchdog_interval_s
        if interval is None:
            return
        log.info("systemd watchdog: pinging every %.3g s", interval)
        while True:
            self.ping()
            await asyncio.sleep(interval)

    def close(self) -> None:
        """Close the datagram socket (further notify() calls reopen it)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
