"""Fuzzing the control protocol against a real daemon-side server (a started Runtime behind
a ControlServer on a Unix socket): random bytes, random JSON, random JSON-RPC requests and
batches for real methods, and mutations of a valid request. Every reply is a well-formed
JSON-RPC response with a one-line message, never an internal error, and the connection
keeps answering (a sentinel request after each input proves it)."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgetui.config import Config
from edgetui.control import INTERNAL, ControlServer, socket_path
from edgetui.runtime import Runtime
from tests.support.fuzz import fuzz, json_values, mutated_bytes, one_line

# Methods without lasting side effects beyond the runtime's own state (no file export, no
# update, no subscription stream), plus names that do not exist.
METHODS = [
    "status",
    "methods",
    "bus.publish",
    "bus.history",
    "kiosk.unlock",
    "kiosk.set_pin",
    "ota.status",
    "ota.history",
    "ota.check",
    "ota.commit",
    "buffer.stats",
    "inference.status",
    "unsubscribe",
]
VALID = b'{"jsonrpc": "2.0", "id": 1, "method": "bus.history", "params": {"limit": 2}}'


class Served:
    """A runtime and its control server on an event loop in a thread of their own."""

    def __init__(self, state_dir: Path) -> None:
        config = Config()
        config.device.id = "fuzz-device"
        config.agents.enabled = []
        config.telemetry.interval_s = 0.5
        self.runtime = Runtime(config, state_dir, mode="attached")
        self.server = ControlServer(self.runtime)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.runtime.start())
        self.run(self.server.start())
        self.path = socket_path(state_dir)

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def close(self) -> None:
        self.run(self.server.stop())
        self.run(self.runtime.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Client:
    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")
        self.ids = itertools.count()

    def exchange(self, line: bytes) -> list[Any]:
        """Send `line`, then a sentinel request; return every reply before the sentinel's."""
        sentinel = f"sentinel-{next(self.ids)}"
        ping = json.dumps({"jsonrpc": "2.0", "id": sentinel, "method": "methods"}).encode()
        self.sock.sendall(line.replace(b"\n", b" ") + b"\n" + ping + b"\n")
        replies = []
        while True:
            raw = self.reader.readline()
            assert raw, "the server closed the connection"
            msg = json.loads(raw)
            if isinstance(msg, dict) and msg.get("id") == sentinel:
                assert "result" in msg, msg
                return replies
            replies.append(msg)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    served = Served(tmp_path_factory.mktemp("fuzz") / "state")
    c = Client(served.path)
    yield c
    c.close()
    served.close()


def _check_response(msg: Any) -> None:
    assert isinstance(msg, dict) and msg.get("jsonrpc") == "2.0", msg
    if msg.get("method") == "notify":
        return
    assert "id" in msg and (("result" in msg) != ("error" in msg)), msg
    if "error" in msg:
        err = msg["error"]
        assert isinstance(err["code"], int) and isinstance(err["message"], str)
        assert err["code"] != INTERNAL, f"unhandled exception in the server: {err}"
        one_line(err["message"], limit=600)


def _check(replies: list[Any]) -> None:
    for reply in replies:
        if isinstance(reply, list):
            assert reply, "an empty batch reply"
            for item in reply:
                _check_response(item)
        else:
            _check_response(reply)


absent = st.just(None)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    req: dict[str, Any] = {
        "jsonrpc": draw(st.sampled_from(["2.0", "2.0", "1.0", 2])),
        "method": draw(st.sampled_from(METHODS) | st.text(max_size=20) | json_values),
    }
    if draw(st.booleans()):
        req["id"] = draw(st.integers() | st.text(max_size=10) | json_values)
    params = draw(
        st.dictionaries(
            st.sampled_from(["type", "data", "limit", "pin", "pin_hash", "subscription"])
            | st.text(max_size=8),
            json_values,
            max_size=4,
        )
        | json_values
    )
    if draw(st.booleans()):
        req["params"] = params
    return req


@fuzz
@given(st.binary(max_size=200))
def test_random_bytes(client: Client, line: bytes) -> None:
    _check(client.exchange(line))


@fuzz
@given(json_values)
def test_random_json(client: Client, value: Any) -> None:
    _check(client.exchange(json.dumps(value).encode()))


@fuzz
@given(requests())
def test_random_requests(client: Client, req: dict[str, Any]) -> None:
    _check(client.exchange(json.dumps(req).encode()))


@fuzz
@given(st.lists(requests(), min_size=1, max_size=4))
def test_random_batches(client: Client, batch: list[dict[str, Any]]) -> None:
    _check(client.exchange(json.dumps(batch).encode()))


@fuzz
@given(st.data())
def test_mutated_request(client: Client, data: st.DataObject) -> None:
    _check(client.exchange(data.draw(mutated_bytes(VALID))))
