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

    name: str = ""
    severity: str = ""  # "warning" | "critical" (the rule's level now)
    state: AlertState = AlertState.INACTIVE
    since: str | None = None
    value: int | float | None = None  # as the rule read it (a count stays an int)
    summary: str = ""
    labels: dict[str, Any] = field(default_factory=dict)
    acknowledged: bool = False
    silenced_until: str | None = None
    # Where its runbook is (Prometheus's `runbook_url`): `edgetui doctor` reads it.
    runbook: str | None = None


@dataclass
class SilenceItem:
    """A rule silenced until `until`, with the operator's comment."""

    name: str = ""
    until: str | None = None
    comment: str = ""
    created: str | None = None


@dataclass
class AlertCounts:
    """Firing, unsilenced alerts by severity."""

    critical: int = 0
    warning: int = 0


@dataclass
class AlertsSection:
    """The `alerts` section of the snapshot."""

    alerts: list[AlertItem] = field(default_factory=list)
    counts: AlertCounts = field(default_factory=AlertCounts)
    pending: int = 0
    silences: list[SilenceItem] = field(default_factory=list)
    rules: int = 0
    evaluated_at: str | None = None
