"""What's wrong panel: the doctor's verdict in one line, then each firing or pending alert
and failing check with its likely causes, the evidence read and the next step (all from the
`doctor` section, which the runtime builds each tick; nothing is diagnosed here)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePath

from rich.text import Text

from edgetui.doctor import render_finding
from edgetui.models import Snapshot
from edgetui.models.doctor import DoctorReport
from edgetui.tui.panels.base import Panel

STATE_STYLE = {"OK": "bold green", "WARNING": "bold yellow", "CRITICAL": "bold red"}
MAX_LINES = 14  # a bounded panel: `edgetui doctor` prints the whole report


def render_text(report: DoctorReport, width: int) -> Text:
    """The verdict, the runbook errors in one line each, then the findings (bounded)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(report.line, style=STATE_STYLE.get(report.state, "bold"))
    lines: list[tuple[str, str]] = [(f"runbook error: {e}", "red") for e in report.runbook_errors]
    for f in report.findings:
        # The file's name is enough on a panel (`edgetui doctor` prints the whole path).
        f = replace(f, runbook=PurePath(f.runbook).name) if f.runbook else f
        for i, line in enumerate(render_finding(f)):
            style = "bold" if i == 0 else ("cyan" if "next:" in line or "key:" in line else "")
            lines.append((line, style))
    hidden = max(0, len(lines) - MAX_LINES)
    for line, style in lines[:MAX_LINES]:
        out.append("\n")
        out.append(line[:width], style=style)
    if hidden:
        out.append(f"\n… {hidden} more line(s): `edgetui doctor` shows them all", style="dim")
    return out


class DoctorPanel(Panel):
    """The doctor's report of the latest tick (mounted once the runtime sends one)."""

    SECTION = "doctor"
    TITLE = "What's wrong"
    FULL_WIDTH = True  # beside the alerts: the why next to the what
    DEFAULT_CSS = "DoctorPanel { min-height: 3; }"
    _lines = 0

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        report = self.section(snap)
        if isinstance(report, DoctorReport):
            text = render_text(report, max(self.size.width - 2, 40))
            lines = text.plain.count("\n") + 1
            # Re-layout only when the height changes: most ticks keep it.
            self.update(text, layout=lines != self._lines)
            self._lines = lines
