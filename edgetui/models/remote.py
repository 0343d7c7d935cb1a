"""The `commands` section: what the signed remote commands part received and did."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgetui.models.vocabulary import JobState


@dataclass
class CommandRecord:
    """One command's latest state (its result stays in the published record)."""

    command_id: str | None
    command: str | None
    state: JobState
    reason: str | None
    message: str
    key_id: str | None
    device_id: str
    time: str


@dataclass
class CommandsSection:
    """Topics, trusted and revoked keys, counts, the queue and the recent commands."""

    topic: str
    result_topic: str
    trusted_keys: list[str]
    revoked_keys: list[str]
    error: str | None
    received: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rejections_not_published: int
    succeeded: int
    failed: int
    timed_out: int
    queued: int
    running: str | None
    replay_window: int
    recent: list[CommandRecord] = field(default_factory=list)
