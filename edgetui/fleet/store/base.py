"""The fleet store's one interface: both engines (SQLite, PostgreSQL) implement it.

It is synchronous on purpose: the ingest writes batches from its own writer thread and the
console and CLI read through `asyncio.to_thread`, so no engine call ever runs on an event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from edgetui.fleet.messages import Update
from edgetui.fleet.records import (
    AlertRecord,
    CommandRecord,
    DeviceState,
    FleetSummary,
    RetrainSample,
    TelemetryPoint,
)
from edgetui.fleet.rollouts.store import RolloutStore


class StoreError(Exception):
    """The store cannot be opened or used; the text is one line naming the store.
    `usage` is true when the store's name itself is wrong (exit status 2)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class DownsamplePolicy:
    """Telemetry kept with age: raw samples for `raw_s`, then `mid_bucket_s` averages until
    `mid_s`, then `old_bucket_s` averages until `keep_s` (0: forever)."""

    raw_s: float = 3600.0
    mid_bucket_s: float = 60.0
    mid_s: float = 86400.0
    old_bucket_s: float = 600.0
    keep_s: float = 30 * 86400.0


@runtime_checkable
class FleetStore(RolloutStore, Protocol):
    """Every device's last state, its alerts, telemetry history and command records.

    And the phased rollouts: rollout records, one execution per target device, the
    runner's lease, and the command records a rollout writes before it publishes; and the
    retraining samples devices send when a drift or confidence alert fires."""

    engine: str  # "sqlite" | "postgresql"
    where: str  # the file or the server, for messages

    def apply(self, updates: Sequence[Update], *, writer: str = "", now: float) -> None:
        """Write one batch of ingested messages in one transaction (idempotent: a message
        delivered twice, or late, never overwrites a newer state)."""
        ...

    def device(self, device_id: str) -> DeviceState | None: ...

    def alerts(self, device_id: str) -> list[AlertRecord]:
        """The device's alerts: firing first, then pending, then resolved (newest first)."""
        ...

    def telemetry(self, device_id: str, *, since: float | None = None) -> list[TelemetryPoint]:
        """The device's telemetry history in time order, every tier merged."""
        ...

    def commands(self, device_id: str, *, limit: int = 50) -> list[CommandRecord]:
        """The device's command records, newest first."""
        ...

    def record_command(self, record: CommandRecord) -> None:
        """Write a command record as sent (rollouts and `command send` will call this)."""
        ...

    def summary(self) -> FleetSummary: ...

    # -- rollouts: `RolloutStore` (edgetui.fleet.rollouts.store; SQL in store/rollouts.py)

    # -- the retraining set (store/retrain.py) -----------------------------------------------
    def retrain_samples(
        self,
        *,
        since: float | None = None,
        devices: Iterable[str] | None = None,
        version: str | None = None,
    ) -> list[RetrainSample]:
        """The decision inputs devices sent for retraining (decided at or after `since`, of
        `devices`, of model `version`), in (device, sample id) order."""
        ...

    def downsample(self, now: float, policy: DownsamplePolicy) -> dict[str, int]:
        """Fold aged telemetry into coarser buckets and drop what is past `keep_s`; returns
        how many rows each step touched."""
        ...

    def close(self) -> None: ...
