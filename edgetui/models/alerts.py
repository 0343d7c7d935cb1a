"""The `alerts` section: pending and firing alerts, their counts, the silences."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class AlertState(enum.StrEnum):
    """An alert instance's state (Prometheus semantics)."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass
class AlertItem:
    """One pending or firing alert, as `alerts --json` and the status list it."""

    name: str
    severity: str  # "warning" | "critical" (the rule's level now)
    state: AlertState
    since: str | None
    value: float | None
    summary: str
    labels: dict[str, Any] = field(default_factory=dict)
    acknowledged: bool = False
    silenced_until: str | None = None


@dataclass
class SilenceItem:
    """A rule silenced until `until`, with the operator's comment."""

    name: str
    until: str | None
    comment: str
    created: str | None


@dataclass
class AlertCounts:
    """Firing, unsilenced alerts by severity."""

    critical: int = 0
    warning: int = 0


@dataclass
class AlertsSection:
    """The `alerts` section of the snapshot."""

    alerts: list[AlertItem]
    counts: AlertCounts
    pending: int
    silences: list[SilenceItem]
    rules: int
    evaluated_at: str | None
