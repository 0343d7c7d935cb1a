"""A TCP proxy that delays what the server sends back (like toxiproxy's latency toxic), so
that a test can hold MQTT PUBACKs in flight for a while on a real broker."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class LatencyProxy:
    """Listens on a free loopback port and forwards to (host, port); every chunk the server
    sends is held `delay_s` before it goes on to the client (order kept)."""

    def __init__(self, host: str, port: int, delay_s: float) -> None:
        self.target = (host, port)
        self.delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._socks: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.delay_s), daemon=True
            ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, delay_s: float) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if delay_s:
                    time.sleep(delay_s)
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.close()
