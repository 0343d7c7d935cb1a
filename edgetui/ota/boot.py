"""Slot lifecycle decisions: which slot to boot, trial boot counting, commit, rollback.

These run before anything loads from `slots/current` (the process-level bootloader) and are
blocking (they hash the slot content): async callers use asyncio.to_thread.
Every state change is saved BEFORE the symlink moves, so a kill at any instant leaves a
state file that tells the truth about what `current` points to on the next start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from edgetui.models.ota import OtaState, SlotState
from edgetui.ota.slots import SlotStore, content_digest, now_rfc3339

log = logging.getLogger(__name__)


@dataclass
class BootResult:
    """What the boot decided: the booted slot (None: nothing verified to boot) and why."""

    booted: str | None
    trial: bool = False
    rollback_reason: str | None = None
    notes: list[str] = field(default_factory=list)


def _forget_content(s: SlotState) -> None:
    s.version = s.sha256 = s.content_sha256 = None
    s.installed_at = s.activated_at = None
    s.boot_attempts = 0


def roll_back(store: SlotStore, state: OtaState, bad: str, reason: str) -> str | None:
    """Mark slot `bad` bad with `reason` and switch to the other slot when it is good.

    Returns the slot switched to, or None when the other slot is not good (nothing switched).
    """
    s = state.slots[bad]
    target = store.other(bad)
    t = state.slots[target]
    if s.status in ("good", "trial"):
        s.status = "bad"
    s.last_error = reason
    if t.status != "good":
        store.record(
            state,
            "rollback",
            "failed",
            f"{reason}; no good slot to roll back to",
            slot=bad,
            from_version=s.version,
        )
        store.save(state)
        return None
    summary = f"{s.version or 'slot ' + bad} rolled back to {t.version} (slot {target}): {reason}"
    state.last_rollback_reason = summary
    store.record(
        state, "rollback", "ok", reason, slot=target, from_version=s.version, to_version=t.version
    )
    store.save(state)  # durable before the link moves: a kill now still boots `target`
    store.switch(target)
    t.activated_at = now_rfc3339()
    store.save(state)
    log.warning("OTA rollback: %s", summary)
    return target


def _settle_interrupted(store: SlotStore, state: OtaState, current: str | None) -> None:
    for s in state.slots.values():
        if s.installing:
            reason = f"install of {s.installing} was interrupted; the slot holds no usable content"
            store.record(
                state, "update", "interrupted", reason, slot=s.name, to_version=s.installing
            )
            _forget_content(s)
            s.status, s.installing, s.last_error = "empty", None, reason
        if s.status == "trial" and s.name != current:
            reason = f"update to {s.version} was interrupted before the switch; never booted"
            store.record(state, "update", "interrupted", reason, slot=s.name, to_version=s.version)
            s.status, s.last_error = "bad", reason


def _problem(store: SlotStore, s: SlotState, max_attempts: int) -> str | None:
    """Why slot `s` must not boot now, or None (counts a trial boot attempt)."""
    if s.status in ("bad", "empty"):
        return f"slot {s.name} is {s.status}" + (f" ({s.last_error})" if s.last_error else "")
    if s.status == "trial":
        s.boot_attempts += 1
        if s.boot_attempts > max_attempts:
            return f"boot attempts exhausted ({max_attempts}) without a passing health check"
    if not s.content_sha256:
        return "no recorded content checksum"
    digest = content_digest(store.slot_dir(s.name))
    if digest != s.content_sha256:
        return "slot content does not match its recorded checksum"
    return None


def boot(store: SlotStore, max_attempts: int) -> BootResult:
    """Decide and prepare the slot this start boots into; saves the state before returning."""
    store.ensure()
    state = store.load()
    current = store.current()
    _settle_interrupted(store, state, current)
    if current is None:
        good = [s for s in state.slots.values() if s.status == "good"]
        if good:
            pick = max(good, key=lambda s: s.activated_at or "")
            store.save(state)
            store.switch(pick.name)
            current = pick.name
    result = BootResult(booted=None)
    candidate, tried = current, set()
    while candidate is not None and candidate not in tried:
        tried.add(candidate)
        s = state.slots[candidate]
        problem = _problem(store, s, max_attempts)
        if problem is None:
            result.booted, result.trial = candidate, s.status == "trial"
            break
        result.notes.append(f"slot {candidate}: {problem}")
        nxt = roll_back(store, state, candidate, problem)
        if nxt is not None:
            result.rollback_reason = state.last_rollback_reason
        candidate = nxt
    if result.booted is None and store.current() is not None:
        # Nothing verified: better no slot (built-in agents, no model) than unverified code.
        store.unlink_current()
        result.notes.append("no verified slot to boot; running without slot content")
    store.save(state)
    return result


def commit(store: SlotStore, state: OtaState, name: str, reason: str) -> None:
    """Mark the trial slot `name` good (it becomes the fallback for later updates)."""
    s = state.slots[name]
    s.status, s.boot_attempts, s.last_error = "good", 0, None
    store.record(state, "commit", "ok", reason, slot=name, to_version=s.version)
    store.save(state)


def roll_back_to(store: SlotStore, booted: str | None, target: str, reason: str) -> None:
    """The operator's rollback from slot `booted` to the good slot `target` (caller checks).

    A trial slot is marked bad on the way (as a failed trial would be); a committed slot stays
    good, so the operator can return to it later.
    """
    state = store.load()
    if booted and state.slots[booted].status == "trial":
        roll_back(store, state, booted, reason)
        return
    t = state.slots[target]
    state.last_rollback_reason = f"{reason}: back to {t.version} (slot {target})"
    store.record(
        state,
        "rollback",
        "ok",
        reason,
        slot=target,
        from_version=state.slots[booted].version if booted else None,
        to_version=t.version,
    )
    store.save(state)
    store.switch(target)
