"""The doctor's report in words: the lines `edgetui doctor` prints and the What's wrong
panel shows (pure; both faces use it)."""

from __future__ import annotations

from typing import Any

from edgetui.doctor.diagnose import DoctorReport, Finding, RankedCause

MARK = {True: "likely ", None: "no data", False: "ruled out"}


def value_text(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def cause_lines(n: int, c: RankedCause) -> list[str]:
    lines = [f"  {n}. {MARK[c.holds]}  {c.title}"]
    if c.evidence:
        lines.append("       " + "; ".join(f"{e.path} = {value_text(e.value)}" for e in c.evidence))
    step = "   ".join(
        x for x in (f"next: {c.next}" if c.next else "", f"key: {c.key}" if c.key else "") if x
    )
    if step:
        lines.append(f"       {step}")
    return lines


def render_finding(f: Finding) -> list[str]:
    """One finding: what, since when, its summary and runbook, the causes (ruled out ones
    only counted when something else is likely)."""
    since = f" since {f.since}" if f.since else ""
    value = f", value {f.value:g}" if isinstance(f.value, int | float) else ""
    silenced = " (silenced)" if f.silenced else ""
    lines = [f"{f.name}  {f.state} {f.severity}{since}{value}{silenced}", f"  {f.summary}"]
    if f.runbook is None:
        lines.append("  no runbook for it: `edgetui alerts` and the panel of its part say more")
        return lines
    lines[-1] += f"  (runbook {f.runbook})"
    shown = [c for c in f.causes if c.holds is not False] or f.causes
    for n, c in enumerate(shown, 1):
        lines += cause_lines(n, c)
    if len(shown) < len(f.causes):
        lines.append(f"  ({len(f.causes) - len(shown)} cause(s) ruled out by the snapshot)")
    return lines


def render(report: DoctorReport) -> str:
    """The whole report: its one line, then each finding."""
    lines = [report.line]
    for f in report.findings:
        lines += ["", *render_finding(f)]
    return "\n".join(lines)
