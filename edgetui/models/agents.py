"""The `agents` section: one row per enabled agent, in config order."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class AgentStatus(enum.StrEnum):
    """What an agent reports ("running", "idle") or the supervisor sets ("error", "updating")."""

    RUNNING = "running"
    IDLE = "idle"
    ERROR = "error"
    UPDATING = "updating"


@dataclass
class AgentRow:
    """One agent as the supervisor knows it. `detail` is the agent's own figures (each
    plugin reports its own keys, so it stays a plain dict)."""

    name: str = ""
    status: AgentStatus = AgentStatus.UPDATING
    restarts: int = 0
    last_error: str | None = None
    started_at: str | None = None
    origin: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
