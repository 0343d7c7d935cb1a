"""Control socket: JSON-RPC 2.0, one JSON object per line, over a Unix socket.

The server wraps a Runtime; `RuntimeClient` implements RuntimeAPI on the other end
(attach mode). Methods: every name the runtime registered ("status", "ota.apply", ...),
plus "subscribe" / "unsubscribe", which stream `notify` notifications on the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from edgetui.api import APIError, Disconnected, Notification
from edgetui.models import Snapshot
from edgetui.models.untrusted import MAX_DEPTH, depth
from edgetui.runtime import Runtime

log = logging.getLogger(__name__)

SOCKET_NAME = "edgetui.sock"
MAX_LINE = 4 * 1024 * 1024
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL = (
    -32700,
    -32600,
    -32601,
    -32602,
    -32603,
)


_TOO_DEEP = object()


def socket_path(state_dir: Path) -> Path:
    return Path(state_dir) / SOCKET_NAME


def socket_answers(path: Path, timeout: float = 1.0) -> bool:
    """True when a live server accepts connections on `path` (a stale file does not)."""
    if not path.exists():
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


class DaemonAlreadyRunning(RuntimeError):
    """Another daemon answers on the socket."""


def _error(id_: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


class _Connection:
    """One client: requests are answered in order; subscriptions forward concurrently."""

    def __init__(
        self, runtime: Runtime, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.runtime = runtime
        self.reader = reader
        self.writer = writer
        self.write_lock = asyncio.Lock()
        self.subs: dict[int, asyncio.Task[None]] = {}
        self.sub_ids = itertools.count(1)
        # Who is at the other end, from the kernel (SO_PEERCRED), with its [access] role.
        self.caller = runtime.access.peer(writer.get_extra_info("socket"))

    async def send(self, msg: dict[str, Any] | list[Any]) -> None:
        data = (json.dumps(msg, separators=(",", ":"), default=str) + "\n").encode()
        async with self.write_lock:
            self.writer.write(data)
            await self.writer.drain()

    async def serve(self) -> None:
        try:
            while True:
                try:
                    line = await self.reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    return
                except asyncio.LimitOverrunError:
                    await self.send(_error(None, INVALID_REQUEST, "request too large"))
                    return
                if not line.strip():
                    continue
                reply = await self.handle_line(line)
                if reply is not None:
                    await self.send(reply)
        except (ConnectionError, BrokenPipeError):
            pass
        finally:
            for task in self.subs.values():
                task.cancel()
            with contextlib.suppress(Exception):
                self.writer.close()

    async def handle_line(self, line: bytes) -> dict[str, Any] | list[Any] | None:
        try:
            msg = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(None, PARSE_ERROR, f"parse error: {exc}")
        except RecursionError:
            msg = _TOO_DEEP  # a line of 100,000 '[': answered below, like any invalid request
        # Nesting is bounded: deep values would recurse again in the methods and the reply.
        if msg is _TOO_DEEP or depth(msg) > MAX_DEPTH:
            return _error(None, INVALID_REQUEST, f"invalid request: nested deeper than {MAX_DEPTH}")
        if isinstance(msg, list):
            if not msg:
                return _error(None, INVALID_REQUEST, "empty batch")
            replies = [r for r in [await self.handle(m) for m in msg] if r is not None]
            return replies or None
        return await self.handle(msg)

    async def handle(self, msg: Any) -> dict[str, Any] | None:
        if (
            not isinstance(msg, dict)
            or msg.get("jsonrpc") != "2.0"
            or not isinstance(msg.get("method"), str)
        ):
            return _error(
                msg.get("id") if isinstance(msg, dict) else None,
                INVALID_REQUEST,
                "invalid request: expected a JSON-RPC 2.0 object with a method",
            )
        id_ = msg.get("id")
        is_notification = "id" not in msg
        params = msg.get("params") or {}
        if not isinstance(params, dict):
            return (
                None if is_notification else _error(id_, INVALID_PARAMS, "params must be an object")
            )
        try:
            result = await self.dispatch(msg["method"], params)
        except APIError as exc:
            return None if is_notification else _error(id_, exc.code, str(exc), exc.data)
        except Exception as exc:
            log.exception("method %s failed", msg["method"])
            return None if is_notification else _error(id_, INTERNAL, f"internal error: {exc}")
        return None if is_notification else {"jsonrpc": "2.0", "id": id_, "result": result}

    async def dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method in ("subscribe", "unsubscribe"):
            await self.check_role(method, params)
        if method == "subscribe":
            kinds = params.get("kinds") or ["snapshot"]
            if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
                raise APIError("kinds must be a list of strings", INVALID_PARAMS)
            sub_id = next(self.sub_ids)
            self.subs[sub_id] = asyncio.create_task(self.forward(sub_id, kinds))
            return {"subscription": sub_id}
        if method == "unsubscribe":
            task = self.subs.pop(params.get("subscription", -1), None)
            if task is not None:
                task.cancel()
            return {"unsubscribed": task is not None}
        return await self.runtime.call_as(self.caller, method, params)

    async def check_role(self, method: str, params: dict[str, Any]) -> None:
        """The role check for the socket's own methods (the runtime checks the rest)."""
        from edgetui.access import check_allowed

        await check_allowed(self.caller, method, params, self.runtime.security)

    async def forward(self, sub_id: int, kinds: list[str]) -> None:
        try:
            async for note in self.runtime.subscribe(kinds):
                await self.send(
                    {
                        "jsonrpc": "2.0",
                        "method": "notify",
                        "params": {"subscription": sub_id, "kind": note.kind, "data": note.data},
                    }
                )
        except (ConnectionError, BrokenPipeError):
            self.writer.close()


class ControlServer:
    """Serves a Runtime on a Unix socket (mode 0660) in the state directory."""

    def __init__(self, runtime: Runtime, path: Path | None = None) -> None:
        self.runtime = runtime
        self.path = Path(path) if path else socket_path(runtime.state_dir)
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.path.exists() or self.path.is_symlink():
            if socket_answers(self.path):
                raise DaemonAlreadyRunning(f"a daemon already answers on {self.path}")
            log.warning("removing stale control socket %s (left by a crashed daemon)", self.path)
            self.path.unlink()
        self._server = await asyncio.start_unix_server(
            self._accept, path=str(self.path), limit=MAX_LINE
        )
        os.chmod(self.path, 0o660)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await _Connection(self.runtime, reader, writer).serve()
        finally:
            self._conns.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._conns):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class RuntimeClient:
    """RuntimeAPI over the control socket (attach mode)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subs: dict[int, asyncio.Queue[Notification | None]] = {}
        self._early: dict[int, list[Notification]] = {}
        self._closed = False
        self._read_task = asyncio.create_task(self._read_loop(), name="control-client-read")

    @classmethod
    async def connect(
        cls, path: Path, timeout: float = 2.0, *, via: str | None = None
    ) -> RuntimeClient:
        """Connect to a daemon; raises OSError when nothing answers. `via` (cli, tui,
        kiosk) tells the daemon which face this is, for its audit records."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(str(path), limit=MAX_LINE), timeout
        )
        client = cls(reader, writer)
        if via is not None:
            with contextlib.suppress(APIError):  # an older daemon has no access.whoami
                await asyncio.wait_for(client.call("access.whoami", {"via": via}), timeout)
        return client

    @property
    def mode(self) -> str:
        return "attached"

    @property
    def connected(self) -> bool:
        return not self._closed

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                msg = json.loads(line)
                if msg.get("method") == "notify":
                    p = msg["params"]
                    note = Notification(p["kind"], self._attached(p["kind"], p["data"]))
                    queue = self._subs.get(p["subscription"])
                    if queue is not None:
                        queue.put_nowait(note)
                    else:  # arrived before subscribe() saw its id
                        self._early.setdefault(p["subscription"], []).append(note)
                    continue
                fut = self._pending.pop(msg.get("id"), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (ConnectionError, json.JSONDecodeError, ValueError):
            pass
        finally:
            self._closed = True
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(Disconnected())
            self._pending.clear()
            for queue in self._subs.values():
                queue.put_nowait(None)

    @staticmethod
    def _attached(kind: str, data: dict[str, Any]) -> dict[str, Any]:
        if kind == "snapshot" and isinstance(data, dict):
            data = {**data, "mode": "attached"}
        return data

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        if self._closed:
            raise Disconnected()
        id_ = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[id_] = fut
        req = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}
        try:
            self._writer.write((json.dumps(req) + "\n").encode())
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            self._pending.pop(id_, None)
            raise Disconnected() from exc
        reply = await fut
        if "error" in reply:
            err = reply["error"]
            raise APIError(err.get("message", "error"), err.get("code", -32000), err.get("data"))
        result = reply.get("result")
        if method == "status" and isinstance(result, dict):
            result = self._attached("snapshot", result)
        return result

    async def status(self) -> Snapshot:
        return Snapshot.from_dict(await self.call("status"))

    async def subscribe(self, kinds: Sequence[str] = ("snapshot",)) -> AsyncIterator[Notification]:
        queue: asyncio.Queue[Notification | None] = asyncio.Queue()
        result = await self.call("subscribe", {"kinds": list(kinds)})
        sub_id = result["subscription"]
        self._subs[sub_id] = queue
        for note in self._early.pop(sub_id, []):
            queue.put_nowait(note)
        if self._closed:
            queue.put_nowait(None)
        try:
            while True:
                note = await queue.get()
                if note is None:
                    raise Disconnected()
                yield note
        finally:
            self._subs.pop(sub_id, None)
            if not self._closed:
                with contextlib.suppress(APIError):
                    await self.call("unsubscribe", {"subscription": sub_id})

    async def close(self) -> None:
        self._closed = True
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._read_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._read_task
