"""What the rollout slice needs of the fleet store: `RolloutStore`, a Protocol the fleet
store (`edgetui.fleet.store.FleetStore`) extends and its SQL engines implement
(`fleet/store/rollouts.py`). The slice depends on this protocol, never on the store package,
so the store may import the slice's records without an import circle.

The lease makes one runner the owner of a rollout at a time: `claim_rollout` is a
conditional UPDATE that succeeds only when the lease is free, expired or already ours. Only
`RolloutRunner.claim()` / `release()` call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from edgetui.fleet.records import CommandRecord, DeviceState
from edgetui.fleet.rollouts.records import Execution, RolloutRecord


@runtime_checkable
class RolloutStore(Protocol):
    """Rollout records, one execution per target device, the runner's lease, and the
    command records a rollout writes before it publishes; and the devices it targets."""

    where: str  # the file or the server, for messages

    def devices(self, *, changed_since: float | None = None) -> list[DeviceState]:
        """Every device heard from (only those the store changed after `changed_since`)."""
        ...

    def create_rollout(self, rollout: RolloutRecord, executions: Sequence[Execution]) -> None: ...

    def rollout(self, rollout_id: str) -> RolloutRecord | None: ...

    def rollouts(self) -> list[RolloutRecord]: ...

    def update_rollout(self, rollout: RolloutRecord) -> None: ...

    def set_rollout_state(
        self, rollout_id: str, state: str, *, now: float, only_from: Sequence[str] = ()
    ) -> bool: ...

    def claim_rollout(self, rollout_id: str, owner: str, *, now: float, lease_s: float) -> bool:
        """Take or renew the runner's lease; False while another live runner holds it."""
        ...

    def release_rollout(self, rollout_id: str, owner: str) -> None: ...

    def executions(self, rollout_id: str) -> list[Execution]: ...

    def device_executions(self, device_id: str) -> list[Execution]:
        """One device's executions in every rollout."""
        ...

    def save_executions(self, executions: Sequence[Execution]) -> None: ...

    def record_sends(self, sends: Sequence[tuple[Execution, CommandRecord]]) -> None:
        """Executions as sent and their command records (state RECORDED), in one
        transaction, before the commands are published."""
        ...

    def mark_published(self, commands: Sequence[tuple[str, str]]) -> None:
        """(command_id, device_id) pairs the broker acknowledged: RECORDED becomes SENT
        (a device's result already stored is kept)."""
        ...

    def rollout_commands(self, rollout_id: str) -> dict[str, tuple[str | None, str | None]]: ...
