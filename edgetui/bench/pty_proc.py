"""Run a program in a pseudo-terminal of a given size and measure its CPU and memory."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class ProcFigures:
    """CPU as % of one core over the window, and peak resident memory."""

    name: str
    cpu_percent: float
    peak_rss_mb: float
    seconds: float


class PtyProcess:
    """A child on the slave side of a pty; a thread drains the master like a terminal would."""

    def __init__(
        self, argv: list[str], cols: int = 160, rows: int = 48, env: dict[str, str] | None = None
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLUMNS": str(cols),
            "LINES": str(rows),
            **(env or {}),
        }
        # The child's three streams are the pty's slave end; its own session, so it has the
        # pty as its controlling terminal.
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=full_env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.bytes_out = 0
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.bytes_out += len(data)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass


def _tree_cpu(p: psutil.Process) -> float:
    total = 0.0
    for proc in [p, *p.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _tree_rss(p: psutil.Process) -> int:
    total = 0
    for proc in [p, *p.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(procs: dict[str, int], seconds: float, warmup: float = 2.0) -> list[ProcFigures]:
    """CPU % (of one core) and peak RSS of each pid (with its children) over `seconds`."""
    handles = {name: psutil.Process(pid) for name, pid in procs.items()}
    time.sleep(warmup)
    start_cpu = {n: _tree_cpu(p) for n, p in handles.items()}
    peak = dict.fromkeys(handles, 0)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for n, p in handles.items():
            peak[n] = max(peak[n], _tree_rss(p))
        time.sleep(0.25)
    elapsed = time.monotonic() - t0
    return [
        ProcFigures(n, 100.0 * (_tree_cpu(p) - start_cpu[n]) / elapsed, peak[n] / 2**20, elapsed)
        for n, p in handles.items()
    ]


def which(name: str) -> str | None:
    """Find a program on PATH or beside this Python (a venv's bin/)."""
    import sys

    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if beside.exists() else None)
