"""What is wrong and why: each firing or pending alert and each failing validate check, with
its runbook's causes ranked by what the snapshot shows. Pure: a status document (the JSON
of `status --json`) and the runbooks in, a `DoctorReport` out; nothing here measures."""

from __future__ import annotations

from typing import Any

from edgetui.doctor.runbooks import Cause, Condition, Runbook
from edgetui.models.doctor import DoctorReport, Evidence, Finding, RankedCause

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3  # the Nagios codes, as `edgetui check`
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
MISSING = object()


def values_at(doc: Any, path: str) -> list[Any]:
    """The values at a dotted `path` (`[*]` walks a list, `[N]` picks one); [] if absent."""
    nodes = [doc]
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        out: list[Any] = []
        for node in nodes:
            if part == "[*]" and isinstance(node, list):
                out.extend(node)
            elif part.startswith("[") and isinstance(node, list):
                idx = int(part[1:-1])
                out.extend(node[idx : idx + 1])
            elif isinstance(node, dict) and part in node:
                out.append(node[part])
        nodes = out
    return nodes


def _compare(value: Any, cond: Condition) -> bool:
    if cond.op is None:
        return bool(value)
    want = cond.value
    if isinstance(want, float) and not isinstance(value, bool) and isinstance(value, int | float):
        value = float(value)
    try:
        return {
            "<": lambda: value < want, "<=": lambda: value <= want,
            ">": lambda: value > want, ">=": lambda: value >= want,
            "==": lambda: value == want, "!=": lambda: value != want,
        }[cond.op]()  # fmt: skip
    except TypeError:
        return False  # a number against text: the condition does not hold


def judge(cause: Cause, doc: dict[str, Any]) -> RankedCause:
    """One cause against the status document, with every value it read as evidence."""
    holds: bool | None = True
    seen: dict[str, Any] = {}
    for cond in cause.when:
        values = [v for v in values_at(doc, cond.path) if v is not None]
        seen[cond.path] = values[0] if len(values) == 1 else values or None
        if not values:
            holds = None if holds is not False else False
        elif not any(_compare(v, cond) for v in values):
            holds = False
    for path in cause.evidence:
        values = values_at(doc, path)
        seen.setdefault(path, values[0] if len(values) == 1 else values or None)
    evidence = [Evidence(p, v) for p, v in seen.items()]
    return RankedCause(cause.title, holds, evidence, cause.next, cause.key)


def rank(book: Runbook | None, doc: dict[str, Any]) -> list[RankedCause]:
    """The runbook's causes, those that hold first, then those without data, then the
    ruled out; the runbook's own order within each group."""
    if book is None:
        return []
    judged = [judge(c, doc) for c in book.causes]
    order = {True: 0, None: 1, False: 2}
    return sorted(judged, key=lambda c: order[c.holds])


def _alert_findings(doc: dict[str, Any], books: dict[tuple[str, str], Runbook]) -> list[Finding]:
    out = []
    for a in (doc.get("alerts") or {}).get("alerts") or []:
        if a.get("state") not in ("firing", "pending"):
            continue
        book = books.get(("alert", a.get("name", "")))
        out.append(Finding(
            "alert", a.get("name", ""), a["state"], a.get("severity") or "warning",
            a.get("summary") or "", a.get("since"), a.get("value"),
            bool(a.get("silenced_until")), book.path if book else None, rank(book, doc),
        ))  # fmt: skip
    return out


def _check_findings(doc: dict[str, Any], books: dict[tuple[str, str], Runbook]) -> list[Finding]:
    out = []
    for c in (doc.get("validation") or {}).get("checks") or []:
        if c.get("ok") is not False:
            continue
        book = books.get(("check", c.get("name", "")))
        out.append(Finding(
            "check", c.get("name", ""), "failed", "warning", c.get("detail") or "",
            (doc.get("validation") or {}).get("at"), None, False,
            book.path if book else None, rank(book, doc),
        ))  # fmt: skip
    return out


def diagnose(
    doc: dict[str, Any], books: dict[tuple[str, str], Runbook], errors: list[str] | None = None
) -> DoctorReport:
    """The report for one status document. The code follows `edgetui check`: an
    unsilenced firing critical alert is CRITICAL; any other firing alert, a pending one or a
    failing check is WARNING; no alert engine in the document is UNKNOWN."""
    findings = _alert_findings(doc, books) + _check_findings(doc, books)
    order = {"firing": 0, "failed": 1, "pending": 2}
    findings.sort(key=lambda f: (order[f.state], f.severity != "critical", f.name))
    loud = [f for f in findings if not f.silenced]
    if "alerts" not in doc:
        code = UNKNOWN
    elif any(f.state == "firing" and f.severity == "critical" for f in loud):
        code = CRITICAL
    else:
        code = WARNING if loud else OK
    if code == UNKNOWN:
        line = "EDGETUI UNKNOWN - the alert engine is not running: nothing to diagnose from"
    elif not findings:
        line = "EDGETUI OK - nothing is wrong: no alert firing or pending, no check failing"
    else:
        names = ", ".join(f"{f.name} ({f.state})" for f in findings)
        line = f"EDGETUI {STATES[code]} - {len(findings)} thing(s) wrong: {names}"
    return DoctorReport(code, STATES[code], line, findings, list(errors or []))
