"""The `doctor` section: what is wrong right now (each firing or pending alert and each
failing validate check), its probable causes ranked with the evidence read, and the next
step. The doctor part (`edgetui/doctor/`) builds it from the snapshot and the runbooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Evidence:
    """A value the doctor read: the path into the status document and what it held."""

    path: str
    value: Any


@dataclass
class RankedCause:
    """A runbook cause judged against the snapshot: `holds` True (its conditions hold),
    False (ruled out) or None (the snapshot lacks what it needs)."""

    title: str
    holds: bool | None
    evidence: list[Evidence] = field(default_factory=list)
    next: str = ""
    key: str = ""


@dataclass
class Finding:
    """One thing that is wrong: an alert (firing or pending) or a failing check."""

    kind: str  # "alert" | "check"
    name: str
    state: str  # firing | pending | failed
    severity: str  # critical | warning
    summary: str
    since: str | None = None
    value: Any = None
    silenced: bool = False
    runbook: str | None = None
    causes: list[RankedCause] = field(default_factory=list)


@dataclass
class DoctorReport:
    """The verdict (`code`, a Nagios code, and its `state`), the findings, and the runbook
    files that could not be loaded."""

    code: int
    state: str
    line: str
    findings: list[Finding] = field(default_factory=list)
    runbook_errors: list[str] = field(default_factory=list)
