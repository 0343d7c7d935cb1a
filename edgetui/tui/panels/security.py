"""Security panel: the monitor's counts and newest events, the periodic checks, and the
last actions from the audit trail (all from the `security` section; nothing measured here)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.models import Snapshot
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
        if isinstance(section, dict):
            self.update(self.render_text(section, max(self.size.width - 2, 40)), layout=False)

    @staticmethod
    def render_text(sec: dict[str, Any], width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        counts = sec.get("counts") or {}
        out.append("events  ", style="dim")
        for kind, label in LABELS.items():
            n = int(counts.get(kind, 0))
            out.append(f"{label} ")
            out.append(f"{n}", style="bold red" if n else "green")
            out.append("  ")
        out.append("\n")
        checks = sec.get("checks") or {}
        out.append("checks  ", style="dim")
        slot = checks.get("slot")
        if slot:
            ok = slot.get("ok")
            out.append(f"slot {slot.get('slot')} ")
            out.append("matches" if ok else "TAMPERED", style="green" if ok else "bold red")
            out.append(f" ({_hms(slot.get('time'))})  ")
        audit_check = checks.get("audit")
        if audit_check:
            ok = audit_check.get("ok")
            out.append("audit chain ")
            out.append("verifies" if ok else "BROKEN", style="green" if ok else "bold red")
            out.append(f" ({_hms(audit_check.get('time'))})")
        if not slot and not audit_check:
            out.append("not run yet", style="dim")
        out.append("\n")
        audit = sec.get("audit") or {}
        out.append("audit   ", style="dim")
        out.append(f"{audit.get('records', 0)} records")
        if audit.get("signed_seq"):
            out.append(f", head signed at {audit['signed_seq']} ({_hms(audit.get('signed_at'))})")
        else:
            out.append(", head not signed yet", style="dim")
        if audit.get("last_error"):
            out.append(f"  {audit['last_error']}", style="red")
        out.append("\n")
        last = (audit.get("last") or [])[:LAST_ACTIONS]
        out.append("LAST ACTIONS\n", style="dim")
        if not last:
            out.append("none audited yet\n", style="dim")
        for a in last:
            out.append(f"{_hms(a.get('time'))} {str(a.get('user') or '?')[:10]:<10} ")
            out.append(f"{a.get('via') or '?'!s:<6} {str(a.get('method') or '?')[:24]:<24} ")
            if a.get("ok"):
                out.append("ok", style="green")
            else:
                out.append(str(a.get("error") or "failed")[: max(width - 50, 10)], style="red")
            out.append("\n")
        events = (sec.get("events") or [])[:EVENTS_SHOWN]
        if events:
            out.append("RECENT EVENTS\n", style="dim")
        for ev in events:
            out.append(f"{_hms(ev.get('time'))} ")
            out.append(f"{LABELS.get(ev.get('kind'), ev.get('kind'))}: ", style="bold red")
            out.append(f"{ev.get('message')}\n")
        out.rstrip()
        return out
