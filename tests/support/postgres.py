"""A real PostgreSQL (Debian's package) on a free loopback port, for the fleet store tests.

One server per test session (initdb takes seconds); each test gets a fresh database. As root
(CI), the cluster is made and run by the `postgres` system user, since the server refuses to
run as root. Skips with the reason only where PostgreSQL is not installed (`make test`
installs it). The server gets SIGINT (PostgreSQL's fast shutdown: sessions rolled back, a
checkpoint, every server process gone) when the pytest process dies (`tests.support.reaper`).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edgetui.bench.broker import free_port, wait_accepts
from tests.support.reaper import reaped


def find_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<v>/bin that has initdb and postgres."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[4])
    return Path(found[-1]).parent if found else None


@dataclass
class PgServer:
    """A running server: `url(db)` names a database on it; `create_db()` makes a new one."""

    port: int
    datadir: Path
    bindir: Path
    proc: subprocess.Popen[bytes]
    runas: list[str]

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        conn = self._connect()
        conn.autocommit = True
        conn.cursor().execute(f"CREATE DATABASE {name}")
        conn.close()
        return self.url(name)

    def restart(self) -> None:
        """Start the server again on the same port and data after `stop()` (a store that
        was down comes back)."""
        self.proc = _spawn(self.bindir, self.datadir, self.port, bool(self.runas))
        if not wait_accepts("127.0.0.1", self.port, 60, self.proc):
            raise RuntimeError(f"postgres did not start again on port {self.port}")
        self._connect().close()  # "the database system is starting up" until it answers

    def _connect(self) -> Any:
        """A connection to the `postgres` database, once the server takes sessions."""
        import pg8000.dbapi

        deadline = time.monotonic() + 60
        while True:  # the port opens a moment before the server takes connections
            try:
                return pg8000.dbapi.connect(user="postgres", host="127.0.0.1", port=self.port)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run(
            [
                *self.runas,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def start_postgres() -> PgServer:
    bindir = find_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (make test installs Debian's postgresql)")
    try:
        import pg8000  # noqa: F401
    except ImportError:
        pytest.skip("pg8000 is not installed (pip install 'edgetui[fleet]')")
    runas: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="edgetui-pg-"))
    if os.geteuid() == 0:
        runas = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    datadir = root / "data"
    init = subprocess.run(
        [
            *runas,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.strip()[-500:]}")
    port = free_port()
    proc = _spawn(bindir, datadir, port, bool(runas))
    server = PgServer(port, datadir, bindir, proc, runas)
    if not wait_accepts("127.0.0.1", port, 60, proc):
        server.stop()
        log = (root / "postgres.log").read_text(errors="replace")[-1000:]
        raise RuntimeError(f"postgres did not start on port {port}: {log}")
    return server


def _spawn(bindir: Path, datadir: Path, port: int, as_postgres: bool) -> subprocess.Popen[bytes]:
    """The postmaster, as the `postgres` user when we are root. Popen switches the user
    itself (not `runuser`, which would stand between: the server must be pytest's child, and
    the parent death signal is set after the switch, which clears it)."""
    root = datadir.parent
    return subprocess.Popen(
        [
            str(bindir / "postgres"),
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(root),
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=50",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "postgres.log", "ab"),  # the child owns it
        cwd=root,  # a directory the postgres user may enter
        **reaped(signal.SIGINT, user="postgres" if as_postgres else None),
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.datadir.parent, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PgServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_db()
