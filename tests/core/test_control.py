"""The control protocol over a real Unix socket."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edgetui.api import APIError, Disconnected
from edgetui.config import Config
from edgetui.control import ControlServer, DaemonAlreadyRunning, RuntimeClient, socket_path
from edgetui.runtime import Runtime


@pytest.fixture
async def served(config: Config, state_dir: Path) -> AsyncIterator[tuple[Runtime, ControlServer]]:
    runtime = Runtime(config, state_dir, mode="attached")
    server = ControlServer(runtime)
    await server.start()
    await runtime.start()
    yield runtime, server
    await server.stop()
    await runtime.stop()


async def raw(path: Path, *lines: bytes) -> list[dict]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    replies = []
    for line in lines:
        writer.write(line)
        await writer.drain()
        replies.append(json.loads(await asyncio.wait_for(reader.readline(), 10)))
    writer.close()
    return replies


async def test_socket_mode_is_0660(served) -> None:
    _, server = served
    assert server.path.stat().st_mode & 0o777 == 0o660


async def test_status_over_the_socket(served, state_dir: Path) -> None:
    client = await RuntimeClient.connect(socket_path(state_dir))
    snap = await client.status()
    assert snap.device_id == "test-device"
    assert snap.mode == "attached"
    assert snap.resources.memory_total_mb > 0
    await client.close()


async def test_subscribe_streams_snapshots(served, state_dir: Path) -> None:
    client = await RuntimeClient.connect(socket_path(state_dir))
    times = []
    async for note in client.subscribe(["snapshot"]):
        times.append(note.data["time"])
        if len(times) == 3:
            break
    assert len(set(times)) == 3  # three distinct samples, pushed by the daemon
    await client.close()


async def test_malformed_json_and_unknown_method(served, state_dir: Path) -> None:
    path = socket_path(state_dir)
    parse, invalid, unknown, ok = await raw(
        path,
        b"{not json\n",
        b'{"jsonrpc": "2.0", "id": 2, "params": {}}\n',
        b'{"jsonrpc": "2.0", "id": 3, "method": "no.such"}\n',
        b'{"jsonrpc": "2.0", "id": 4, "method": "status"}\n',
    )
    assert parse["error"]["code"] == -32700 and parse["id"] is None
    assert invalid["error"]["code"] == -32600 and invalid["id"] == 2
    assert unknown["error"]["code"] == -32601 and "no.such" in unknown["error"]["message"]
    assert ok["id"] == 4 and ok["result"]["device_id"] == "test-device"


async def test_client_error_is_raised_as_api_error(served, state_dir: Path) -> None:
    client = await RuntimeClient.connect(socket_path(state_dir))
    with pytest.raises(APIError) as exc:
        await client.call("no.such")
    assert exc.value.code == -32601
    assert await client.call("methods")  # the connection is still usable
    await client.close()


async def test_client_vanishing_mid_stream_does_not_disturb_others(served, state_dir) -> None:
    path = socket_path(state_dir)
    # A raw client subscribes, then disappears without reading.
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(b'{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"kinds":["snapshot"]}}\n')
    await writer.drain()
    await reader.readline()
    writer.transport.abort()
    # A garbage sender, too.
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(path))
    s.sendall(b"\x00\xff garbage \n" * 10)
    s.close()
    other = await RuntimeClient.connect(path)
    seen = 0
    async for _ in other.subscribe(["snapshot"]):
        seen += 1
        if seen == 3:
            break
    assert (await other.status()).device_id == "test-device"
    await other.close()


async def test_daemon_going_away_raises_disconnected(config: Config, state_dir: Path) -> None:
    runtime = Runtime(config, state_dir, mode="attached")
    server = ControlServer(runtime)
    await server.start()
    await runtime.start()
    client = await RuntimeClient.connect(socket_path(state_dir))

    async def consume() -> None:
        async for _ in client.subscribe(["snapshot"]):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    await server.stop()
    await runtime.stop()
    with pytest.raises(Disconnected):
        await asyncio.wait_for(task, 10)
    with pytest.raises(Disconnected):
        await client.call("status")
    await client.close()


async def test_stale_socket_is_replaced(config: Config, state_dir: Path) -> None:
    path = socket_path(state_dir)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # a socket file nobody listens on: a crashed daemon's leftover
    stale.close()
    assert path.exists()
    server = ControlServer(Runtime(config, state_dir))
    await server.start()
    reply = await raw(path, b'{"jsonrpc":"2.0","id":1,"method":"methods"}\n')
    assert "status" in reply[0]["result"]
    await server.stop()


async def test_second_daemon_is_refused(served, config: Config, state_dir: Path) -> None:
    with pytest.raises(DaemonAlreadyRunning):
        await ControlServer(Runtime(config, state_dir)).start()


async def test_deep_nesting_gets_an_error_and_the_connection_lives(served, state_dir) -> None:
    """Issue 12 defect: 100,000 '[' used to close the connection with a RecursionError."""
    deep, deep_params, ok = await raw(
        socket_path(state_dir),
        b"[" * 100_000 + b"\n",
        b'{"jsonrpc":"2.0","id":7,"method":"status","params":{"a":'
        + b"[" * 200
        + b"]" * 200
        + b"}}\n",
        b'{"jsonrpc": "2.0", "id": 8, "method": "methods"}\n',
    )
    assert deep["error"]["code"] == -32600 and "nested deeper" in deep["error"]["message"]
    assert deep_params["error"]["code"] == -32600
    assert ok["id"] == 8 and "status" in ok["result"]
