"""OTA slot state as it is stored on disk and shown by `ota status --json`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

SLOT_NAMES = ("a", "b")


class SlotStatus(enum.StrEnum):
    """A slot's state, as RAUC names it: good, bad, on trial, or with nothing installed."""

    GOOD = "good"
    BAD = "bad"
    TRIAL = "trial"
    EMPTY = "empty"


SLOT_STATUSES = tuple(SlotStatus)


@dataclass
class SlotState:
    """One slot, the way `rauc status --detailed` describes it."""

    name: str
    status: SlotStatus = SlotStatus.EMPTY
    version: str | None = None
    sha256: str | None = None  # "sha256:<hex>" of the bundle installed here
    content_sha256: str | None = None  # digest of the slot's files, checked on every boot
    installed_at: str | None = None
    activated_at: str | None = None
    boot_attempts: int = 0
    last_error: str | None = None
    installing: str | None = None  # version being written; cleared once it becomes trial


@dataclass
class HistoryEntry:
    """One update, commit or rollback, with the reason in plain words."""

    time: str
    action: str  # update | commit | rollback
    result: str  # ok | failed | interrupted
    slot: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    reason: str = ""


@dataclass
class OtaState:
    """Everything OTA keeps across restarts (`<state>/ota/state.json`)."""

    slots: dict[str, SlotState] = field(
        default_factory=lambda: {name: SlotState(name) for name in SLOT_NAMES}
    )
    history: list[HistoryEntry] = field(default_factory=list)
    last_rollback_reason: str | None = None
