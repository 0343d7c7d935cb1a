"""The daemon's life: the runtime started, served on its control socket, stopped on a signal.

Under systemd (Type=notify, WatchdogSec=) it says READY once the socket answers, pings the
watchdog from its own event loop (a hung loop is restarted) and says STOPPING on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from edgetui import __version__
from edgetui.config import Config
from edgetui.control import ControlServer, DaemonAlreadyRunning, socket_answers
from edgetui.daemon.sd_notify import SdNotifier

log = logging.getLogger(__name__)


class DaemonError(Exception):
    """The daemon cannot serve (another one answers on the socket); one line says why."""


async def serve(config: Config, state_dir: Path) -> None:
    """Run the runtime on `state_dir` until SIGTERM or SIGINT."""
    from edgetui.runtime import Runtime

    # Read and unset systemd's variables before any child process can inherit them.
    sd = SdNotifier.from_environment()
    runtime = Runtime(config, state_dir, mode="attached")
    server = ControlServer(runtime)
    if socket_answers(server.path):  # never two runtimes on one state directory
        raise DaemonError(f"a daemon already answers on {server.path}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Start the parts first: once the socket answers, every method is registered.
    await runtime.start()
    try:
        await server.start()
    except DaemonAlreadyRunning as exc:
        await runtime.stop()
        raise DaemonError(str(exc)) from None
    log.info("edgetui daemon %s serving %s", __version__, server.path)
    sd.ready(f"serving {server.path}")
    watchdog = asyncio.create_task(sd.run_watchdog(), name="sd-watchdog")
    try:
        await stop.wait()
    finally:
        log.info("edgetui daemon stopping")
        sd.stopping()
        watchdog.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watchdog
        await server.stop()
        with contextlib.suppress(Exception):
            await runtime.stop()
