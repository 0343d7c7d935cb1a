"""RuntimeAPI: the one interface both faces (TUI and CLI) speak to.

Implemented in-process by `edgetui.runtime.Runtime` (standalone) and over the control socket
by `edgetui.control.RuntimeClient` (attached). Parts add operations as named methods reached
through `call()` ("ota.apply", "buffer.flush", ...), so the protocol itself stays small.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from edgetui.models import Snapshot


@dataclass
class Notification:
    """A pushed message: `kind` is "snapshot", "event", "ota.progress", ...; data is JSON."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class APIError(Exception):
    """A runtime method failed; `code` follows JSON-RPC (-32601 unknown method, ...)."""

    def __init__(self, message: str, code: int = -32000, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class Disconnected(APIError):
    """The daemon went away (attached mode only)."""

    def __init__(self, message: str = "disconnected from daemon") -> None:
        super().__init__(message, code=-32099)


@runtime_checkable
class RuntimeAPI(Protocol):
    """What a face may ask of the device runtime."""

    @property
    def mode(self) -> str:
        """ "standalone" (runtime in this process) or "attached" (via the daemon socket)."""
        ...

    async def status(self) -> Snapshot:
        """The latest snapshot."""
        ...

    def subscribe(self, kinds: Sequence[str] = ("snapshot",)) -> AsyncIterator[Notification]:
        """Stream notifications of the given kinds until the caller stops iterating.

        With the kind "subscribed", the first notification says the subscription is in
        place: everything notified after it will be streamed (read history then, no gap)."""
        ...

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Invoke a named runtime method; raises APIError."""
        ...

    async def close(self) -> None:
        """Release the connection (attached) or stop the runtime (standalone)."""
        ...
