"""What's wrong panel: the doctor's findings for what the alerts and the last validate run
say now, each with its most likely cause, the evidence read and the next step (a command
or a key). It is shown only while something is wrong. It asks the runtime
(`doctor.report`) only when the alerts or the validation section changed, in a worker: the
report reads the runbooks from disk."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from edgetui.api import APIError
from edgetui.doctor import DoctorReport, Finding
from edgetui.doctor.text import MARK, value_text
from edgetui.models import Snapshot
from edgetui.models.serde import convert
from edgetui.tui.panels.base import Panel

STATE_STYLE = {"OK": "green", "WARNING": "yellow", "CRITICAL": "bold red", "UNKNOWN": "dim"}
MAX_FINDINGS = 3


class WhatsWrongPanel(Panel):
    """The doctor, in a few lines: only the likeliest cause of each finding is shown."""

    SECTION = None
    TITLE = "What's wrong"
    FULL_WIDTH = True
    DEFAULT_CSS = "WhatsWrongPanel { min-height: 3; display: none; }"
    _asked: Any = None
    report: DoctorReport | None = None
    error: str | None = None

    def watched(self, snap: Snapshot) -> Any:
        return (snap.sections.get("alerts"), snap.sections.get("validation"))

    def show(self, snap: Snapshot) -> None:
        self._last = snap
        key = self.watched(snap)
        if key != self._asked:
            self._asked = key
            self.run_worker(self._ask(), exclusive=True, group="doctor")
        self._paint()

    async def _ask(self) -> None:
        api = self.api
        if api is None:
            return
        try:
            raw = await api.call("doctor.report", {})
            self.report, self.error = convert(DoctorReport, raw), None
        except APIError as exc:
            self.report, self.error = None, str(exc)
        self._paint()

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        # Shown only while something is wrong: the Alerts panel already says "no alert", and
        # a runtime without the doctor (an older daemon) gets no empty box.
        wrong = self.report is not None and bool(self.report.findings)
        if self.display != wrong:
            self.display = wrong
        if wrong:
            text = self.render_text(self.report, self.error, max(self.size.width - 2, 40))
            self.update(text)

    @staticmethod
    def render_text(report: DoctorReport | None, error: str | None, width: int) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        if report is None:
            out.append(f"doctor not available: {error}" if error else "asking the doctor…",
                       style="dim")  # fmt: skip
            return out
        if not report.findings:
            out.append("✓ nothing is wrong", style="green")
            return out
        out.append(f"{report.state} ", style=STATE_STYLE.get(report.state, ""))
        out.append(f"{len(report.findings)} thing(s) wrong   (edgetui doctor for all causes)\n",
                   style="dim")  # fmt: skip
        for f in report.findings[:MAX_FINDINGS]:
            _finding(out, f, width)
        out.rstrip()
        return out


def _finding(out: Text, f: Finding, width: int) -> None:
    style = "bold red" if f.severity == "critical" and f.state == "firing" else "yellow"
    out.append(f"{f.name} {f.state}", style=style)
    out.append(f"  {f.summary}\n", style="italic")
    cause = f.causes[0] if f.causes else None
    if cause is None:
        out.append("  no runbook: see `edgetui alerts` and the part's panel\n", style="dim")
        return
    out.append(f"  {MARK[cause.holds].strip()}: ", style="bold" if cause.holds else "dim")
    out.append(f"{cause.title}\n")
    if cause.evidence:
        ev = "; ".join(f"{e.path} = {value_text(e.value)}" for e in cause.evidence[:3])
        out.append(f"    {ev[: max(width - 4, 20)]}\n", style="dim")
    steps = [
        s for s in (cause.next and f"run: {cause.next}", cause.key and f"key: {cause.key}") if s
    ]
    if steps:
        out.append(f"    {'   '.join(steps)}\n", style="cyan")
