"""Runtime security monitoring: the events worth an alert, kept, counted and shown.

Until the alerts part exists, the events live here: the `security` status section carries
the newest events and a count per kind, which an alert engine can read later. Each event is
also logged (WARNING) and pushed as a `security.event` notification.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from edgetui.models.clock import rfc3339
from edgetui.models.security import (
    AuditCheck,
    SecurityChecks,
    SecurityEvent,
    SecurityEventKind,
    SecuritySection,
    SlotCheck,
)
from edgetui.models.serde import to_dict

log = logging.getLogger(__name__)

KINDS = tuple(str(k) for k in SecurityEventKind)  # in the order the section counts them
EVENTS_IN_SECTION = 20


class SecurityMonitor:
    """Keeps the last `keep` events and a count per kind (counts survive the ring)."""

    def __init__(
        self,
        keep: int = 100,
        *,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
        clock: Callable[[], str] = rfc3339,
    ) -> None:
        self.events: deque[SecurityEvent] = deque(maxlen=keep)
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.checks = SecurityChecks()
        self._notify = notify
        self._clock = clock

    def report(
        self,
        kind: str,
        message: str,
        *,
        who: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> SecurityEvent:
        """Keep one event; `kind` must be one of KINDS (ValueError otherwise)."""
        if kind not in KINDS:
            raise ValueError(f"unknown security event kind {kind[:40]!r}")
        ev = SecurityEvent(
            SecurityEventKind(kind), message[:300], self._clock(), who, dict(data or {})
        )
        self.events.append(ev)
        self.counts[kind] += 1
        log.warning("security: %s: %s", kind, ev.message)
        if self._notify is not None:
            self._notify("security.event", to_dict(ev))
        return ev

    def set_slot_check(self, result: dict[str, Any]) -> SlotCheck:
        """The latest re-hash of the booted slot (OTA's `verify_booted_content`)."""
        keys = ("slot", "version", "expected", "actual", "ok")
        self.checks.slot = SlotCheck(**{k: result.get(k) for k in keys}, time=self._clock())
        return self.checks.slot

    def set_audit_check(self, ok: bool, records: int, problem: str | None) -> AuditCheck:
        """The latest verification of the whole audit chain."""
        self.checks.audit = AuditCheck(ok, records, problem, self._clock())
        return self.checks.audit

    def section(self) -> SecuritySection:
        """`events` (newest first), `counts` per kind, `total`, `checks`; the audit part
        adds its trail."""
        return SecuritySection(
            events=list(reversed(list(self.events)[-EVENTS_IN_SECTION:])),
            counts=dict(self.counts),
            total=sum(self.counts.values()),
            checks=SecurityChecks(self.checks.slot, self.checks.audit),
        )


class RateLimit:
    """A token bucket per key (a uid) for what a peer can cause on purpose: refused calls
    and reports. Past it, events are only counted, not kept or audited one by one (like
    auditd's rate limit), so a flood cannot fill the disk with fsynced records."""

    def __init__(
        self, rate: float = 5.0, burst: int = 30, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[object, tuple[float, float]] = {}
        self.suppressed = 0

    def allow(self, key: object) -> bool:
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if len(self._buckets) > 1024:  # many distinct peers: start over rather than grow
            self._buckets.clear()
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            self.suppressed += 1
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True
