"""`edgetui doctor [--json]`: what is wrong, why (ranked causes with the evidence read), and
what to do next, from the runbooks. Exits with the Nagios codes of `edgetui check`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from edgetui.cli.context import Context, command, print_json
from edgetui.doctor import DoctorReport, Finding, RankedCause, diagnose, load_catalog

MARK = {True: "likely ", None: "no data", False: "ruled out"}


def register(sub: argparse._SubParsersAction) -> None:
    command(sub, "doctor", cmd_doctor, needs="inspect",
            help="what is wrong: ranked causes, their evidence, the next step")  # fmt: skip


def _value(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _cause_lines(n: int, c: RankedCause) -> list[str]:
    lines = [f"  {n}. {MARK[c.holds]}  {c.title}"]
    if c.evidence:
        lines.append("       " + "; ".join(f"{e.path} = {_value(e.value)}" for e in c.evidence))
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
        lines += _cause_lines(n, c)
    if len(shown) < len(f.causes):
        lines.append(f"  ({len(f.causes) - len(shown)} cause(s) ruled out by the snapshot)")
    return lines


def render(report: DoctorReport) -> str:
    lines = [report.line]
    for f in report.findings:
        lines += ["", *render_finding(f)]
    return "\n".join(lines)


async def cmd_doctor(ctx: Context) -> int:
    async with ctx.api() as api:
        snap = await api.status()
    books, errors = load_catalog(ctx.config, ctx.state_dir)
    for line in errors:
        print(f"edgetui: runbook: {line}", file=sys.stderr)
    report = diagnose(snap.to_dict(with_history=False), books, errors)
    if ctx.args.json:
        print_json(report)
    else:
        print(render(report))
    return report.code
