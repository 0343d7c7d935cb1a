"""One alert instance and its state machine (Prometheus semantics).

inactive -> pending (condition true) -> firing (held `for_s`) -> resolved (condition gone
for `keep_firing_for_s`; with a `clear` level the value must pass it first: hysteresis).
A pending alert whose condition goes away before `for_s` drops back to inactive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgetui.alerts.rules import Rule
from edgetui.models.alerts import AlertItem, AlertState
from edgetui.models.clock import rfc3339

PENDING, FIRING, RESOLVED, INACTIVE = "pending", "firing", "resolved", "inactive"


def iso(ts: float | None) -> str | None:
    """RFC 3339 UTC with milliseconds, like the snapshot's `time`."""
    return None if ts is None else rfc3339(ts)


def alert_key(name: str, labels: dict[str, Any]) -> str:
    """Identity of an instance: the rule name and its instance labels."""
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={labels[k]}" for k in sorted(labels)) + "}"


@dataclass
class Alert:
    """A pending or firing alert (what `alerts.list` shows and the database keeps)."""

    key: str
    name: str
    labels: dict[str, Any] = field(default_factory=dict)
    state: str = INACTIVE
    severity: str = ""
    value: float | None = None
    summary: str = ""
    active_at: float = 0.0  # the condition first held (pending since)
    fired_at: float | None = None
    last_true: float = 0.0  # the condition last held (keep_firing_for counts from here)
    acknowledged: bool = False

    @property
    def since(self) -> float:
        return self.fired_at if self.state == FIRING and self.fired_at else self.active_at

    def step(self, rule: Rule, value: float | None, now: float, slack: float = 0.0) -> str | None:
        """Advance with this tick's value (None: no data); return the transition made:
        "pending", "firing" (also a change of severity while firing), "resolved",
        "inactive" (a pending alert dropped), or None.

        `slack` (half a tick) absorbs the jitter of tick times: a condition seen at one tick
        that still holds `for_s` later fires at that tick, not one tick after it because the
        tick ran a few milliseconds early."""
        severity = rule.severity(value) if value is not None else None
        if value is not None:
            self.value = value
        if self.state == INACTIVE:
            if severity is None:
                return None
            self.active_at = self.last_true = now
            self.severity = severity
            if rule.for_s <= 0:
                return self._fire(now)
            self.state = PENDING
            return PENDING
        if self.state == PENDING:
            if severity is None:
                self.state = INACTIVE
                return INACTIVE
            self.last_true = now
            self.severity = severity
            if now - self.active_at >= rule.for_s - slack:
                return self._fire(now)
            return None
        # firing
        holds = value is not None and rule.holds(value)
        if holds:
            self.last_true = now
            if severity is not None and severity != self.severity:
                self.severity = severity  # escalated or eased: said again as firing
                return FIRING
            return None
        if now - self.last_true >= rule.keep_firing_for_s - (
            slack if rule.keep_firing_for_s > 0 else 0.0
        ):
            self.state = RESOLVED
            return RESOLVED
        return None

    def _fire(self, now: float) -> str:
        self.state = FIRING
        self.fired_at = now
        return FIRING

    def public(self, silenced_until: float | None, runbook: str | None = None) -> AlertItem:
        """The documented list item of `alerts --json` and the status `alerts` section."""
        return AlertItem(
            name=self.name,
            severity=self.severity,
            state=AlertState(self.state),
            since=iso(self.since),
            value=self.value,
            summary=self.summary,
            labels=dict(self.labels),
            acknowledged=self.acknowledged,
            silenced_until=iso(silenced_until),
            runbook=runbook,
        )
