"""A real HTTP server on 127.0.0.1 serving a directory, with switchable misbehaviour.

Supports `Range: bytes=N-` (206 + Content-Range). Faults (see `Faults`) make it answer with
an error status, hang, cut the connection mid-body, ignore Range, or send more than the file.
Fixture `http_server` serves `tmp_path / "www"`; `server.url("name")` gives a file's URL and
`server.requests` records (path, Range header) of every request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

CHUNK = 64 * 1024


@dataclass
class Faults:
    """Misbehaviour for the next `limit` matching requests (None: every request)."""

    status: int | None = None  # answer with this error status
    hang: bool = False  # accept, then send nothing until the server stops
    cut_after: int | None = None  # send this many body bytes, then close the connection
    hang_after: int | None = None  # send this many body bytes, then stall
    drip_after: int | None = None  # send this many body bytes, then one byte per 50 ms
    ignore_range: bool = False  # always 200 with the whole file
    extra_bytes: int = 0  # append this many bytes after the file (-1: endless)
    no_content_length: bool = False  # omit Content-Length (body ends when the socket closes)
    paths: tuple[str, ...] | None = None  # only for these URL paths (e.g. "/pkg.tar.gz")
    limit: int | None = None


@dataclass
class Request:
    path: str
    range: str | None
    faulted: bool


class FileServer:
    """ThreadingHTTPServer in a daemon thread serving `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.faults: Faults | None = None
        self.requests: list[Request] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def set_faults(self, faults: Faults | None = None, **kw: object) -> None:
        """Install faults (a Faults or its fields as keywords); None clears them."""
        self.faults = faults if faults is not None or not kw else Faults(**kw)  # type: ignore[arg-type]

    def take_faults(self, path: str) -> Faults | None:
        with self._lock:
            f = self.faults
            if f is None or (f.paths is not None and path not in f.paths):
                return None
            if f.limit is not None:
                if f.limit <= 0:
                    return None
                f.limit -= 1
            return f

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    owner: FileServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def _stall(self) -> None:
        self.owner._release.wait(timeout=120)
        self.close_connection = True

    def do_GET(self) -> None:
        owner = self.owner
        path = unquote(urlparse(self.path).path)
        rng = self.headers.get("Range")
        f = owner.take_faults(path)
        owner.requests.append(Request(path, rng, f is not None))
        if f and f.hang:
            self._stall()
            return
        if f and f.status:
            self.send_error(f.status)
            return
        target = (owner.root / path.lstrip("/")).resolve()
        if not target.is_file() or not target.is_relative_to(owner.root.resolve()):
            self.send_error(404)
            return
        total = target.stat().st_size
        start = 0
        if rng and not (f and f.ignore_range) and rng.startswith("bytes="):
            first = rng[6:].split("-", 1)[0]
            start = int(first) if first.isdigit() else 0
            if start >= total:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{total}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
        else:
            self.send_response(200)
        extra = f.extra_bytes if f else 0
        length = total - start + max(extra, 0)
        if f and (f.no_content_length or extra < 0):
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self._body(target, start, f)

    def _drip(self, src: Any, rest: bytes) -> None:
        """One byte every 50 ms: never idle long enough for a per-read timeout."""
        while (rest or (rest := src.read(CHUNK))) and not owner_stopped(self.owner):
            self.wfile.write(rest[:1])
            self.wfile.flush()
            rest = rest[1:]
            time.sleep(0.05)

    def _body(self, target: Path, start: int, f: Faults | None) -> None:
        sent = 0
        stop_at = None
        if f and f.cut_after is not None:
            stop_at = f.cut_after
        elif f and f.hang_after is not None:
            stop_at = f.hang_after
        elif f and f.drip_after is not None:
            stop_at = f.drip_after
        try:
            with open(target, "rb") as src:
                src.seek(start)
                while block := src.read(CHUNK):
                    if stop_at is not None and sent + len(block) >= stop_at:
                        self.wfile.write(block[: stop_at - sent])
                        self.wfile.flush()
                        if f and f.cut_after is not None:
                            self.close_connection = True
                            with contextlib.suppress(OSError):
                                self.connection.shutdown(socket.SHUT_RDWR)
                        elif f and f.drip_after is not None:
                            self._drip(src, block[stop_at - sent :])
                        else:
                            self._stall()
                        return
                    self.wfile.write(block)
                    sent += len(block)
            extra = f.extra_bytes if f else 0
            pad = b"\0" * CHUNK
            while extra < 0 or extra > 0:
                n = CHUNK if extra < 0 else min(CHUNK, extra)
                self.wfile.write(pad[:n])
                if extra > 0:
                    extra -= n
                if owner_stopped(self.owner):
                    return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def owner_stopped(owner: FileServer) -> bool:
    return owner._release.is_set()


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[FileServer]:
    """Context manager form, for use outside pytest fixtures."""
    server = FileServer(root)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[FileServer]:
    """A FileServer for `tmp_path / "www"` (put files there, then fetch server.url(name))."""
    with serve_directory(tmp_path / "www") as server:
        yield server
