"""`fleet rollout status --json`: a rollout's waves, counts by state, failure rate, halt
reason, and the reasons of the devices that rejected or failed it, grouped."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from edgetui.fleet.records import iso
from edgetui.fleet.rollouts.records import Execution, RolloutRecord
from edgetui.models.vocabulary import DeviceStatus, ExecutionState


@dataclass(frozen=True)
class Tally:
    """A status document's `counts` in the words the CLI and the console print them."""

    succeeded: int
    failed: int
    rejected: int
    in_progress: int  # sent, or installed and in its health window
    pending: int
    canceled: int
    timed_out: int


def tally(counts: dict[str, int]) -> Tally:
    """The `counts` of a status document (or of one of its waves), summed as printed."""
    E = ExecutionState
    return Tally(
        succeeded=counts[E.SUCCEEDED],
        failed=counts[E.FAILED],
        rejected=counts[E.REJECTED],
        in_progress=counts[E.SENT] + counts[E.INSTALLED],
        pending=counts[E.PENDING],
        canceled=counts[E.CANCELED],
        timed_out=counts[E.TIMED_OUT],
    )


def _counts(execs: list[Execution]) -> dict[str, int]:
    """Executions by state, every state present (0 when none)."""
    c = Counter(e.state for e in execs)
    return {str(s): c.get(s, 0) for s in ExecutionState}


def rollout_status(r: RolloutRecord, execs: list[Execution]) -> dict[str, Any]:
    """The status document (README "Phased rollouts" shows its keys)."""
    counts = _counts(execs)
    failed, succeeded = counts[ExecutionState.FAILED], counts[ExecutionState.SUCCEEDED]
    executed = failed + succeeded
    waves = []
    for k, pct in enumerate(r.spec.waves):
        members = [e for e in execs if e.wave == k]
        waves.append(
            {
                "wave": k + 1,
                "percent": pct,
                "devices": len(members),
                "counts": _counts(members),
                "done_at": iso(r.wave_done[k]) if k < len(r.wave_done) else None,
                "seconds_to_done": (
                    round(r.wave_done[k] - r.created_at, 3) if k < len(r.wave_done) else None
                ),
            }
        )
    rollbacks = Counter(e.rollback_state for e in execs if e.rollback_state)
    return {
        "rollout_id": r.rollout_id,
        "state": r.state,
        "wave": r.wave + 1,
        "waves": waves,
        "devices": len(execs),
        "counts": counts,
        "executed": executed,
        "failure_rate": round(failed / executed, 4) if executed else 0.0,
        "halt_reason": r.halt_reason,
        "rejected_reasons": dict(
            Counter(e.reason or "unknown" for e in execs if e.state == ExecutionState.REJECTED)
        ),
        "failed_reasons": dict(
            Counter(e.reason or "unknown" for e in execs if e.state == ExecutionState.FAILED)
        ),
        "offline_waiting": sum(
            1
            for e in execs
            if e.state in (ExecutionState.PENDING, ExecutionState.SENT)
            and e.reason == DeviceStatus.OFFLINE
        ),
        "rollbacks": dict(rollbacks),
        "spec": asdict(r.spec),
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "runner": r.lease_owner,
    }
