"""Security panel: the monitor's counts and newest events, the periodic checks, and the
last actions from the audit trail (all from the `security` section; nothing measured here)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.models import Snapshot
from edgetui.models.security import AuditSummary, SecurityChecks, SecuritySection
from edgetui.tui.panels.base import Panel

LABELS = {
    "refused_call": "refused",
    "bad_signature": "bad sig",
    "wrong_pin": "wrong PIN",
    "slot_tampered": "slot tampered",
    "audit_chain_broken": "audit broken",
}
LAST_ACTIONS = 5
EVENTS_SHOWN = 3


def _hms(stamp: Any) -> str:
    return str(stamp or "")[11:19] or "-"


class SecurityPanel(Panel):
    """Counts per kind of security event, the checks, the last audited actions."""

    SECTION = "security"
    TITLE = "Security"
    DEFAULT_CSS = "SecurityPanel { min-height: 8; }"

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        section = self.section(snap)
        if isinstance(section, SecuritySection):
            self.update(self.render_text(section, max(self.size.width - 2, 40)), layout=False)

    @staticmethod
    def render_text(sec: SecuritySection, width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append("events  ", style="dim")
        for kind, label in LABELS.items():
            n = int(sec.counts.get(kind, 0))
            out.append(f"{label} ")
            out.append(f"{n}", style="bold red" if n else "green")
            out.append("  ")
        out.append("\n")
        _checks_row(out, sec.checks)
        if sec.audit is not None:
            _audit_rows(out, sec.audit, width)
        events = sec.events[:EVENTS_SHOWN]
        if events:
            out.append("RECENT EVENTS\n", style="dim")
        for ev in events:
            out.append(f"{_hms(ev.time)} ")
            out.append(f"{LABELS.get(ev.kind, ev.kind)}: ", style="bold red")
            out.append(f"{ev.message}\n")
        out.rstrip()
        return out


def _checks_row(out: Text, checks: SecurityChecks) -> None:
    out.append("checks  ", style="dim")
    slot = checks.slot
    if slot:
        out.append(f"slot {slot.slot} ")
        out.append("matches" if slot.ok else "TAMPERED", style="green" if slot.ok else "bold red")
        out.append(f" ({_hms(slot.time)})  ")
    audit = checks.audit
    if audit:
        out.append("audit chain ")
        out.append("verifies" if audit.ok else "BROKEN", style="green" if audit.ok else "bold red")
        out.append(f" ({_hms(audit.time)})")
    if not slot and not audit:
        out.append("not run yet", style="dim")
    out.append("\n")


def _audit_rows(out: Text, audit: AuditSummary, width: int) -> None:
    out.append("audit   ", style="dim")
    out.append(f"{audit.records} records")
    if audit.signed_seq:
        out.append(f", head signed at {audit.signed_seq} ({_hms(audit.signed_at)})")
    else:
        out.append(", head not signed yet", style="dim")
    if audit.last_error:
        out.append(f"  {audit.last_error}", style="red")
    out.append("\n")
    last = audit.last[:LAST_ACTIONS]
    out.append("LAST ACTIONS\n", style="dim")
    if not last:
        out.append("none audited yet\n", style="dim")
    for a in last:
        out.append(f"{_hms(a.time)} {str(a.user or '?')[:10]:<10} ")
        out.append(f"{a.via or '?'!s:<6} {str(a.method or '?')[:24]:<24} ")
        if a.ok:
            out.append("ok", style="green")
        else:
            out.append(str(a.error or "failed")[: max(width - 50, 10)], style="red")
        out.append("\n")
