"""One turn of a rollout, as a pure function of what the store holds: which executions moved
on, which devices get their `ota.apply` now, whether the wave is done, whether the rollout
halts (and which devices get `ota.rollback`).

The rules (README "Phased rollouts"):
- a device succeeded when its command's result is SUCCEEDED, it then runs the release with
  its slot committed (`good`), and no critical alert fires through the health window; it
  failed on such an alert, a rollback, or no commit by the window's end as its own telemetry
  from then on shows (`_window_over`: not the runner's clock alone);
- a device that refuses the release (REJECTED, or FAILED with a reason that says it cannot
  take it, such as insufficient_ram) is REJECTED: grouped by reason, and counted neither as
  executed nor against the wave's success threshold;
- the next wave starts when the current one's successes reach the threshold (hawkBit);
- the rollout halts once failed / executed exceeds the maximum, after `min_executed`
  executed devices (AWS IoT Jobs abort config), a device counting as executed once it passed
  (committed) or failed its health check (`halt_rate`); `auto_rollback` then rolls back every
  device that took the release;
- a device that went offline before answering gets a new attempt (a new command id) once it
  is back online; a device that stays online and silent gets one after `retry_after_s`;
- a device that answered (QUEUED, IN_PROGRESS) but has no final result `in_progress_timeout_s`
  after the send is TIMED_OUT (AWS IoT Jobs' in-progress timeout), a failure for the halt;
- at the timeout the rollout ends: SUCCEEDED when its last wave met the threshold, else
  TIMED_OUT; executions still open are TIMED_OUT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from edgetui.fleet.records import DeviceState
from edgetui.fleet.rollouts.records import Execution, RolloutRecord
from edgetui.models.vocabulary import (
    ANSWERING,
    EXEC_OPEN,
    REPORTED,
    ROLLOUT_FINAL,
    TERMINAL,
    CommandMark,
    DeviceStatus,
    ExecutionState,
    JobState,
    RolloutState,
)

COMMITTED = ("good", "committed")  # a real device says good; older simulators said committed
# Reasons a device gives when it cannot take the release at all.
CANNOT_TAKE = ("insufficient_ram", "insufficient_disk", "wrong_target", "downgrade")


# Moves one open execution on (`_follow` over one turn's facts).
Follow = Callable[[Execution], None]


@dataclass
class Turn:
    """What a turn decided; the runner writes it (sends first recorded, then published)."""

    changed: dict[str, Execution] = field(default_factory=dict)
    sends: list[Execution] = field(default_factory=list)
    rollbacks: list[Execution] = field(default_factory=list)
    rollout_changed: bool = False


def command_id(rollout_id: str, device_id: str, attempt: int) -> str:
    """Deterministic per (rollout, device, attempt): a restarted runner makes the same ids."""
    return f"{rollout_id}.{device_id}.{attempt}"


def rollback_id(rollout_id: str, device_id: str) -> str:
    return f"{rollout_id}.{device_id}.rollback"


def _finish(e: Execution, state: str, reason: str | None, now: float, turn: Turn) -> None:
    e.state, e.reason, e.finished_at = state, reason, now
    turn.changed[e.device_id] = e


def _cancel_pending(execs: Iterable[Execution], reason: str, now: float, turn: Turn) -> None:
    """Every execution not yet sent ends CANCELED (an abort or a halt)."""
    for e in execs:
        if e.state == ExecutionState.PENDING:
            _finish(e, ExecutionState.CANCELED, reason, now, turn)


def _mark_offline(e: Execution, turn: Turn) -> None:
    """The execution waits for its device to come back (changed only the first time)."""
    if e.reason != DeviceStatus.OFFLINE:
        e.reason = DeviceStatus.OFFLINE
        turn.changed[e.device_id] = e


def _window_over(e: Execution, dev: DeviceState, window_s: float, now: float) -> bool:
    """Whether the device itself said it did not commit within the window: its telemetry from
    the window's end or later still shows no commit. A device offline in its window (a real
    one reboots into the new slot), or whose messages are still queued at the broker or the
    ingest, is not failed for a commit the fleet has not heard about yet (it waits, at worst
    until the rollout's timeout)."""
    end = (e.installed_at or now) + window_s
    return now >= end and (dev.last_telemetry or 0.0) >= end


def _follow(
    r: RolloutRecord,
    e: Execution,
    dev: DeviceState | None,
    results: dict[str, tuple[str | None, str | None]],
    now: float,
    turn: Turn,
) -> None:
    """Move one open execution on from its command's result and its device's state."""
    spec = r.spec
    if e.state == ExecutionState.SENT:
        state, detail = results.get(e.command_id or "", (None, None))
        if state == JobState.SUCCEEDED:
            e.state, e.installed_at, e.reason = ExecutionState.INSTALLED, now, None
            turn.changed[e.device_id] = e
        elif state in (JobState.FAILED, JobState.REJECTED, JobState.TIMED_OUT):
            reason = detail or state.lower()
            cannot = state == JobState.REJECTED or reason in CANNOT_TAKE
            _finish(
                e, ExecutionState.REJECTED if cannot else ExecutionState.FAILED, reason, now, turn
            )
        elif (
            state in ANSWERING
            and spec.in_progress_timeout_s > 0
            and now - (e.sent_at or now) >= spec.in_progress_timeout_s
        ):
            # Answered, then silent: its final result was lost or the update hangs. A retry
            # would be refused as a replay or collide with the update under way.
            reason = f"{state} for {spec.in_progress_timeout_s:g} s without a result"
            _finish(e, ExecutionState.TIMED_OUT, reason, now, turn)
        elif state not in REPORTED and dev is not None:
            # No answer at all: offline since the send, or the command was lost.
            if dev.status == DeviceStatus.OFFLINE and (dev.status_at or 0) >= (e.sent_at or 0):
                _mark_offline(e, turn)
            elif dev.status == DeviceStatus.ONLINE and (
                e.reason == DeviceStatus.OFFLINE or now - (e.sent_at or now) >= spec.retry_after_s
            ):
                e.state = ExecutionState.PENDING  # sent again below, with the next attempt
                turn.changed[e.device_id] = e
    elif e.state == ExecutionState.INSTALLED and dev is not None:
        if dev.alerts_critical > 0:
            _finish(e, ExecutionState.FAILED, "critical alert in the health window", now, turn)
        elif dev.version == spec.version and dev.slot_status in COMMITTED:
            if e.committed_at is None:
                e.committed_at = now
                turn.changed[e.device_id] = e
            elif now - e.committed_at >= spec.health_window_s:
                _finish(e, ExecutionState.SUCCEEDED, None, now, turn)
        elif e.committed_at is not None:
            _finish(
                e,
                ExecutionState.FAILED,
                f"rolled back to {dev.version} in the health window",
                now,
                turn,
            )
        elif _window_over(e, dev, spec.health_window_s, now):
            _finish(
                e, ExecutionState.FAILED, "slot not committed within the health window", now, turn
            )


def _roll_back(rid: str, execs: list[Execution], follow: Follow, now: float, turn: Turn) -> None:
    """After a halt: every device that took the release gets `ota.rollback`, including one
    whose update was still under way at the halt (followed until it answers)."""
    for e in execs:
        if e.state == ExecutionState.SENT:
            follow(e)
            if e.state == ExecutionState.PENDING:  # it never got the update: nothing to roll back
                _finish(e, ExecutionState.CANCELED, "rollout halted", now, turn)
        if (
            e.state in (ExecutionState.INSTALLED, ExecutionState.SUCCEEDED)
            and e.rollback_id is None
        ):
            e.rollback_id, e.rollback_state = (
                rollback_id(rid, e.device_id),
                CommandMark.SENT,
            )
            turn.rollbacks.append(e)
            turn.changed.pop(e.device_id, None)


def halt_rate(execs: Iterable[Execution]) -> tuple[int, int]:
    """(failed, executed) for the halt: a device counts as executed once its update passed or
    failed its own health check (or timed out in progress), so a committed device still in
    its health window counts with the successes (and moves to the failures if a critical
    alert fires there).

    Counting only SUCCEEDED (commit + the whole health window) would count a wave's failures
    a health window before its successes: when a wave of thousands starts at once, its
    failures alone come in on top of the executed devices of the waves before, and the rate
    seen for those seconds is several times the real one (2% failing read as 6% at 10,000
    devices, wave 3: a halt the fleet did not deserve)."""
    failed = executed = 0
    for e in execs:
        # A stuck update (TIMED_OUT) counts against the rollout.
        if e.state in (ExecutionState.FAILED, ExecutionState.TIMED_OUT):
            failed += 1
            executed += 1
        elif e.state == ExecutionState.SUCCEEDED or (
            e.state == ExecutionState.INSTALLED and e.committed_at is not None
        ):
            executed += 1
    return failed, executed


def _wave_met(r: RolloutRecord, execs: list[Execution], wave: int) -> bool:
    members = [e for e in execs if e.wave == wave]
    eligible = [e for e in members if e.state != ExecutionState.REJECTED]
    if not eligible:
        return all(e.state not in EXEC_OPEN for e in members)
    ok = sum(1 for e in eligible if e.state == ExecutionState.SUCCEEDED)
    return ok / len(eligible) >= r.spec.success_threshold


def _follow_rollbacks(
    execs: list[Execution], results: dict[str, tuple[str | None, str | None]], turn: Turn
) -> None:
    """Rollbacks sent: their results, followed even after a halt."""
    for e in execs:
        if e.rollback_state == CommandMark.SENT and e.rollback_id:
            state, _ = results.get(e.rollback_id, (None, None))
            if state in TERMINAL:
                e.rollback_state = state
                turn.changed[e.device_id] = e


def _time_out(r: RolloutRecord, execs: list[Execution], now: float, turn: Turn) -> None:
    """The rollout's timeout: SUCCEEDED when its last wave met the threshold, else
    TIMED_OUT; executions still open are TIMED_OUT."""
    spec = r.spec
    met = _wave_met(r, execs, len(spec.waves) - 1) and r.wave == len(spec.waves) - 1
    r.state = RolloutState.SUCCEEDED if met else RolloutState.TIMED_OUT
    r.halt_reason = None if met else f"timed out after {spec.timeout_s:g} s in wave {r.wave + 1}"
    for e in execs:
        if e.state in EXEC_OPEN:
            _finish(e, ExecutionState.TIMED_OUT, e.reason or "rollout timed out", now, turn)
    r.updated_at, turn.rollout_changed = now, True


def _halt_if_failing(r: RolloutRecord, execs: list[Execution], now: float, turn: Turn) -> bool:
    """Halt the rollout when its failure rate is above the maximum (past `min_executed`),
    cancelling what was not sent; whether it halted."""
    spec = r.spec
    failed, executed = halt_rate(execs)
    if executed < spec.min_executed or failed / executed <= spec.max_failure_rate:
        return False
    r.state = RolloutState.HALTED
    r.halt_reason = (
        f"failure rate {failed}/{executed} = {failed / executed:.0%} above "
        f"{spec.max_failure_rate:.0%} in wave {r.wave + 1}"
    )
    r.updated_at, turn.rollout_changed = now, True
    _cancel_pending(execs, "rollout halted", now, turn)
    return True


def _advance(
    r: RolloutRecord,
    execs: list[Execution],
    devices: dict[str, DeviceState],
    now: float,
    turn: Turn,
) -> None:
    """A running rollout: the waves whose threshold is met are done (the next one starts),
    the last one done with nothing open is success, and every pending device of a started
    wave that is not offline gets its next attempt."""
    last = len(r.spec.waves) - 1
    while len(r.wave_done) <= r.wave and _wave_met(r, execs, r.wave):
        r.wave_done.append(now)
        turn.rollout_changed = True
        if r.wave < last:
            r.wave += 1
    if r.wave == last and len(r.wave_done) > last and not any(e.state in EXEC_OPEN for e in execs):
        r.state = RolloutState.SUCCEEDED
        turn.rollout_changed = True
    for e in execs:
        if e.state != ExecutionState.PENDING or e.wave > r.wave:
            continue
        dev = devices.get(e.device_id)
        if dev is not None and dev.status == DeviceStatus.OFFLINE:
            _mark_offline(e, turn)
            continue  # sent once it is back
        e.attempt += 1
        e.command_id = command_id(r.rollout_id, e.device_id, e.attempt)
        e.state, e.sent_at, e.reason = ExecutionState.SENT, now, None
        turn.sends.append(e)
        turn.changed.pop(e.device_id, None)


def judge(
    r: RolloutRecord,
    execs: list[Execution],
    devices: dict[str, DeviceState],
    results: dict[str, tuple[str | None, str | None]],
    now: float,
) -> Turn:
    """One turn of rollout `r` (modified in place, as are the executions in the Turn)."""
    turn = Turn()

    def follow(e: Execution) -> None:
        _follow(r, e, devices.get(e.device_id), results, now, turn)

    _follow_rollbacks(execs, results, turn)
    if r.state in ROLLOUT_FINAL:
        if r.state == RolloutState.ABORTED:
            _cancel_pending(execs, "rollout aborted", now, turn)
        elif r.state == RolloutState.HALTED and r.spec.auto_rollback:
            _roll_back(r.rollout_id, execs, follow, now, turn)
        return turn
    if now >= r.created_at + r.spec.timeout_s:
        _time_out(r, execs, now, turn)
        return turn
    for e in execs:
        if e.state in (ExecutionState.SENT, ExecutionState.INSTALLED):
            follow(e)
    if _halt_if_failing(r, execs, now, turn):
        if r.spec.auto_rollback:
            _roll_back(r.rollout_id, execs, follow, now, turn)
        return turn
    if r.state == RolloutState.RUNNING:
        _advance(r, execs, devices, now, turn)
    elif r.state != RolloutState.PAUSED:
        return turn
    if turn.rollout_changed:
        r.updated_at = now
    return turn
