"""Telemetry into the outbox: the seed's message, every `[telemetry] publish_interval_s`,
built from the runtime's latest snapshot (a part that is absent gives null, never a
made-up value); also installs the WARNING+ log feed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from edgetui.cancel import cancel_and_wait
from edgetui.telemetry.log_outbox import OutboxLogHandler

log = logging.getLogger(__name__)

Enqueue = Callable[[str, dict[str, Any]], Awaitable[Any]]


def _booted_slot(ota: dict[str, Any]) -> dict[str, Any]:
    slot = (ota.get("slots") or {}).get(ota.get("booted"))
    return slot if isinstance(slot, dict) else {}


def _updating(ota: Any) -> bool:
    """An update is under way: installing, restarting into it, or on its trial boot (read
    from the `ota` section: `progress`, `update.state`, the booted slot's status)."""
    if not isinstance(ota, dict):
        return False
    if (ota.get("progress") or {}).get("active"):
        return True
    if (ota.get("update") or {}).get("state") in ("applying", "restarting"):
        return True
    return _booted_slot(ota).get("status") == "trial"


def _agent_status(agents: Any, ota: Any) -> str | None:
    if _updating(ota):
        return "updating"
    if not isinstance(agents, list) or not agents:
        return None
    states = {a.get("status") for a in agents if isinstance(a, dict)}
    for status in ("error", "updating", "running", "idle"):
        if status in states:
            return status
    return None


def _model_version(inference: Any, ota: Any) -> str | None:
    if isinstance(inference, dict) and isinstance(inference.get("version"), str):
        return inference["version"]
    if isinstance(ota, dict) and isinstance(_booted_slot(ota).get("version"), str):
        return _booted_slot(ota)["version"]  # the release the device runs
    return None


def _number(section: Any, key: str) -> float | None:
    value = section.get(key) if isinstance(section, dict) else None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _device_block(snap: dict[str, Any]) -> dict[str, Any]:
    """What the fleet console shows beside the seed's metrics: type, edgetui version, booted
    slot and its state, memory total, inference p95, buffer backlog (null when absent)."""
    ota = snap.get("ota") if isinstance(snap.get("ota"), dict) else None
    slot = _booted_slot(ota) if ota else {}
    queued = _number(snap.get("buffer"), "queued")
    return {
        "type": snap.get("device_type"),
        "version": snap.get("version"),
        "slot": ota.get("booted") if ota else None,
        "slot_status": slot.get("status"),
        "memory_total_mb": _number(snap.get("resources"), "memory_total_mb"),
        "inference_p95_ms": _number(snap.get("inference"), "p95_ms"),
        "buffer_queued": None if queued is None else int(queued),
    }


def build_telemetry(
    snap: dict[str, Any], device_id: str, logs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The seed's telemetry message from a snapshot dict (`Snapshot.to_dict()` form), plus
    the `device` block the fleet reads (the seed's keys are unchanged)."""
    res = snap.get("resources") or {}
    inference = snap.get("inference")
    latency = inference.get("p50_ms") if isinstance(inference, dict) else None
    return {
        "timestamp": snap.get("time"),
        "device_id": snap.get("device_id") or device_id,
        "metrics": {
            "cpu_utilization": res.get("cpu_percent"),
            "memory_free_mb": res.get("memory_free_mb"),
            "disk_free_gb": res.get("disk_free_gb"),
            "inference_latency_ms": latency if isinstance(latency, int | float) else None,
            "agent_status": _agent_status(snap.get("agents"), snap.get("ota")),
            "model_version": _model_version(inference, snap.get("ota")),
            "uptime_seconds": res.get("process_uptime_seconds"),
        },
        "logs": list(logs or []),
        "device": _device_block(snap),
    }


class TelemetryPublisher:
    """Service "telemetry_publisher": enqueues one telemetry message per interval."""

    name = "telemetry_publisher"

    def __init__(
        self,
        enqueue: Enqueue,
        latest: Callable[[], dict[str, Any] | None],
        *,
        device_id: str,
        interval_s: float,
        capture_logs: bool = True,
    ) -> None:
        self._enqueue = enqueue
        self._latest = latest
        self.device_id = device_id
        self.interval_s = interval_s
        self.handler = OutboxLogHandler(enqueue, device_id) if capture_logs else None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.handler is not None:
            self.handler.install()
        self._task = asyncio.create_task(self._loop(), name="telemetry-publisher")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self.handler is not None:
            await self.handler.uninstall()

    async def publish_once(self) -> bool:
        """Enqueue one message from the latest snapshot; False when there is none yet or
        the outbox refused it (the store counted and logged why)."""
        snap = self._latest()
        if snap is None:
            return False
        logs = self.handler.take_recent() if self.handler is not None else []
        try:
            await self._enqueue("telemetry", build_telemetry(snap, self.device_id, logs))
        except Exception as exc:
            # The store has counted and logged a refusal (StoreError); a bug is logged here.
            log.debug("telemetry message not queued: %s", exc, exc_info=True)
            return False
        return True

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.interval_s
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at = max(next_at + self.interval_s, loop.time())
            await self.publish_once()
