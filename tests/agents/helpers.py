"""A real bus and a supervisor over it, for agent tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.agent_host.supervisor import AgentSupervisor
from edgetui.bus.event_bus import EventBus
from edgetui.config import AgentsConfig, BusConfig


async def make_bus() -> EventBus:
    bus = EventBus(BusConfig(), "test-device")
    await bus.start()
    return bus


def supervisor(
    bus: EventBus,
    state_dir: Path,
    enabled: list[str],
    *,
    inference: Any = None,
    agents_dir: Path | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
) -> AgentSupervisor:
    cfg = AgentsConfig(
        enabled=enabled, backoff_min_s=0.05, backoff_max_s=0.4, settings=settings or {}
    )
    return AgentSupervisor(
        cfg,
        bus=bus,
        inference=inference,
        device_id="test-device",
        device_type="test",
        state_dir=state_dir,
        agents_dir=agents_dir,
    )


async def wait_for(cond: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `cond` until truthy (generous timeout: the machine is shared)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = cond()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")
