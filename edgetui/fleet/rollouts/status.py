"""`fleet rollout status --json`: a rollout's waves, counts by state, failure rate, halt
reason, and the reasons of the devices that rejected or failed it, grouped."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from edgetui.fleet.records import iso
from edgetui.fleet.rollout_records import Execution, RolloutRecord

STATES = ("PENDING", "SENT", "INSTALLED", "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT")


def _counts(execs: list[Execution]) -> dict[str, int]:
    c = Counter(e.state for e in execs)
    return {s: c.get(s, 0) for s in (*STATES, "CANCELED")}


def rollout_status(r: RolloutRecord, execs: list[Execution]) -> dict[str, Any]:
    """The status document (README "Phased rollouts" shows its keys)."""
    counts = _counts(execs)
    failed, succeeded = counts["FAILED"], counts["SUCCEEDED"]
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
            Counter(e.reason or "unknown" for e in execs if e.state == "REJECTED")
        ),
        "failed_reasons": dict(
            Counter(e.reason or "unknown" for e in execs if e.state == "FAILED")
        ),
        "offline_waiting": sum(
            1 for e in execs if e.state in ("PENDING", "SENT") and e.reason == "offline"
        ),
        "rollbacks": dict(rollbacks),
        "spec": asdict(r.spec),
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "runner": r.lease_owner,
    }
