"""A phased rollout as the fleet store keeps it: the rollout (its spec, state, current wave,
halt reason, lease) and one execution per target device (its wave, state, attempts, the
command sent and what came back)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from edgetui.fleet.records import json_with_times
from edgetui.models.vocabulary import ExecutionState, RolloutState

# The rollout's and the executions' states are `RolloutState` and `ExecutionState`
# (edgetui.models.vocabulary). What the operator's `pause`, `resume` and `abort` do (CLI and
# console alike): the state each sets and the states it may be set from.
_RUNNING, _PAUSED = RolloutState.RUNNING, RolloutState.PAUSED
TRANSITIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pause": (_PAUSED, (_RUNNING,)),
    "resume": (_RUNNING, (_PAUSED,)),
    "abort": (RolloutState.ABORTED, (_RUNNING, _PAUSED)),
}


@dataclass
class RolloutSpec:
    """What `fleet rollout create` asked for (kept as JSON in the store)."""

    manifest_url: str
    version: str  # the release's version: a device that runs it, committed, took it
    key: str  # the operator's signing key file (the runner signs with it)
    waves: list[float] = field(default_factory=lambda: [1.0, 10.0, 50.0, 100.0])
    target: list[str] = field(default_factory=lambda: ["all"])
    success_threshold: float = 0.95
    max_failure_rate: float = 0.05
    min_executed: int = 10
    health_window_s: float = 600.0
    timeout_s: float = 3600.0
    auto_rollback: bool = False
    retry_after_s: float = 60.0  # an online device that never answered gets a new attempt
    # An update answered (QUEUED or IN_PROGRESS) but not finished this long after its command
    # was sent is TIMED_OUT (AWS IoT Jobs' in-progress timeout); 0: only the rollout's timeout.
    in_progress_timeout_s: float = 1800.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RolloutSpec:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RolloutRecord:
    """One rollout's row."""

    rollout_id: str
    spec: RolloutSpec
    state: str = RolloutState.RUNNING
    wave: int = 0  # the current wave (0-based)
    halt_reason: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    wave_done: list[float] = field(default_factory=list)  # when each wave met its threshold
    lease_owner: str | None = None
    lease_until: float | None = None


@dataclass
class Execution:
    """One target device of a rollout."""

    rollout_id: str
    device_id: str
    wave: int
    state: str = ExecutionState.PENDING
    reason: str | None = None
    attempt: int = 0
    command_id: str | None = None
    sent_at: float | None = None
    installed_at: float | None = None
    committed_at: float | None = None
    finished_at: float | None = None
    rollback_id: str | None = None
    rollback_state: str | None = None

    def to_json(self) -> dict[str, Any]:
        return json_with_times(self, "sent_at", "installed_at", "committed_at", "finished_at")
