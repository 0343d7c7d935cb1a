"""The `ota` section: both slots, the update on offer, the progress of the one running, the
trial's health check and the history (what `ota status --json` prints)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from edgetui.models.ota import HistoryEntry, SlotState
from edgetui.models.serde import OMIT_NONE


class UpdateState(enum.StrEnum):
    """`ota.update.state`: where the offer of a newer bundle stands."""

    IDLE = "idle"  # not checked yet
    CHECKING = "checking"
    AVAILABLE = "available"
    UP_TO_DATE = "up_to_date"
    APPLYING = "applying"
    RESTARTING = "restarting"  # staged; the runtime restarts into the trial slot
    ERROR = "error"


class Phase(enum.StrEnum):
    """`ota.progress.phase`: the step an update, a trial or a rollback is at (RAUC's
    progress, Mender's deployment states)."""

    VERIFY = "verify"
    DOWNLOAD = "download"
    EXTRACT = "extract"
    SWITCH = "switch"
    RESTARTING = "restarting"
    HEALTH = "health"
    AWAITING_COMMIT = "awaiting_commit"
    DONE = "done"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


# The phases after which nothing more happens until someone acts.
FINAL_PHASES = (Phase.DONE, Phase.AWAITING_COMMIT, Phase.ROLLED_BACK, Phase.FAILED)


class HealthState(enum.StrEnum):
    """`ota.health.state`: the trial boot's health check."""

    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


@dataclass
class SlotRow(SlotState):
    """One slot as the section shows it: its stored state and where its files are."""

    path: str = ""


@dataclass
class UpdateOffer:
    """`ota.update.available`: the manifest's newer bundle, against the installed one."""

    version: str
    release_date: str | None = None
    changes: str | None = None
    size: int | None = None
    rollback_version: str | None = None
    installed_version: str | None = None
    available: bool = True
    message: str = ""


@dataclass
class UpdateStatus:
    """`ota.update`: the state of the offer, the offer itself and one line about it."""

    state: UpdateState = UpdateState.IDLE
    available: UpdateOffer | None = None
    message: str | None = None


@dataclass
class Progress:
    """`ota.progress` (and each `ota.progress` notification): the step now running."""

    phase: Phase
    percent: float | None = None
    message: str = ""
    time: str = ""  # RFC 3339
    active: bool = True


@dataclass
class HealthCheck:
    """One check of a trial's health run: ok True/False, or None when skipped."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class HealthRun:
    """`ota.health`: the trial slot's health check, its checks and when it ran."""

    state: HealthState
    slot: str | None
    checks: list[HealthCheck] = field(default_factory=list)
    started_at: str | None = field(default=None, metadata=OMIT_NONE)
    finished_at: str | None = field(default=None, metadata=OMIT_NONE)


@dataclass
class CheckNote:
    """`ota.last_check`: when the manifest was last read and what it said."""

    time: str
    ok: bool
    message: str


@dataclass
class OtaSection:
    """The `ota` section of the snapshot (and the answer of `ota.status`)."""

    booted: str | None = None
    primary: str | None = None
    slots: dict[str, SlotRow] = field(default_factory=dict)
    max_boot_attempts: int = 0
    auto_commit: bool = False
    manifest_url: str | None = None
    update: UpdateStatus = field(default_factory=UpdateStatus)
    progress: Progress | None = None
    health: HealthRun | None = None
    last_check: CheckNote | None = None
    last_rollback_reason: str | None = None
    # The stored before/after validation of the latest update (`ota/compare.py`'s file:
    # from_version, to_version, before, after, summary), as it was written.
    validation: dict[str, Any] | None = None
    history: list[HistoryEntry] = field(default_factory=list)  # newest first

    def slot(self, name: str | None) -> SlotRow | None:
        """The slot called `name`, or None."""
        return self.slots.get(name) if name else None

    @property
    def booted_version(self) -> str | None:
        """The version in the booted slot (None when nothing is booted or installed)."""
        s = self.slot(self.booted)
        return s.version if s else None
