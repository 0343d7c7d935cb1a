"""Processes the tests start die with the pytest process, even when it is SIGKILLed.

Linux delivers a child's "parent death signal" (`prctl(PR_SET_PDEATHSIG)`) when the thread
that forked it exits, so a broker, a PostgreSQL server or an `edgetui daemon` cannot outlive a
crashed or killed pytest (two crashed runs once left two PostgreSQL clusters running).

- `reaped(sig, user=...)`: the keyword arguments for `subprocess.Popen` / `subprocess.run` /
  `asyncio.create_subprocess_exec` that set it in the child, after the switch to `user` if
  one is given (the kernel clears the setting when the credentials change, so `runuser`
  would lose it: Popen's own `user=` switches first, then runs the hook).
- `install_default()`: every other spawn from the pytest main thread (ad-hoc `Popen` in a
  test, the code under test's own children) gets SIGTERM as its parent death signal.

A spawn from another thread would get the signal when *that* thread exits, possibly long
before the test is over: `reaped` refuses it (unless that thread waits for the child, as
`subprocess.run` does), the default leaves such a spawn alone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# Resolved once in the parent: the hook runs between fork and exec, where loading a library
# is best avoided.
_prctl = ctypes.CDLL(None, use_errno=True).prctl
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_prctl.restype = ctypes.c_int


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` that makes the child receive `sig` when its parent (this thread) dies."""
    parent = os.getpid()

    def hook() -> None:
        if _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            # The parent died between fork and prctl: the signal will never come.
            os.kill(os.getpid(), sig)

    return hook


def reaped(
    sig: int = signal.SIGTERM, *, user: str | None = None, waited: bool = False
) -> dict[str, Any]:
    """Spawn keyword arguments: the child gets `sig` when the pytest process dies; with
    `user`, it runs as that user (and its primary group, no supplementary groups).

    `waited=True` says the spawning thread waits for the child (`subprocess.run`): then any
    thread may spawn, since the thread cannot end before the child does."""
    if not waited and threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "spawn test servers from the main thread: the parent death signal fires when "
            "the spawning thread exits"
        )
    kwargs: dict[str, Any] = {"preexec_fn": die_with_parent(sig)}
    if user is not None:
        kwargs.update(user=user, group=user, extra_groups=[])
    return kwargs


_installed = False


def install_default() -> None:
    """Give every spawn from the main thread that brings no `preexec_fn` of its own a
    SIGTERM parent death signal (asyncio's subprocesses go through `subprocess.Popen` too)."""
    global _installed
    if _installed:
        return
    _installed = True
    original = subprocess.Popen.__init__

    def __init__(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        if (
            kwargs.get("preexec_fn") is None
            and threading.current_thread() is threading.main_thread()
        ):
            kwargs["preexec_fn"] = die_with_parent(signal.SIGTERM)
        original(self, *args, **kwargs)

    subprocess.Popen.__init__ = __init__  # type: ignore[method-assign]
