"""The doctor's ranking on a real status document (the checked-in `status --json` of the
demo device) with a firing alert and a failing check put in: the cause the document proves
comes first with the values it read, the next step is the runbook's, the code is Nagios's."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from edgetui.config import load_config
from edgetui.doctor import diagnose, load_catalog
from edgetui.doctor.diagnose import CRITICAL, OK, UNKNOWN, WARNING, values_at

SAMPLE = json.loads(
    (Path(__file__).parent.parent / "core" / "data" / "status_sample.json").read_text()
)


def _doc(**changes: object) -> dict:
    doc = copy.deepcopy(SAMPLE)
    for path, value in changes.items():
        *head, last = path.split("__")
        node = doc
        for part in head:
            node = node[part]
        node[last] = value
    return doc


def _alert(name: str, severity: str = "critical", state: str = "firing") -> dict:
    return {"name": name, "severity": severity, "state": state, "since": "2026-12-07T06:20:00Z",
            "value": 4.0, "summary": f"{name} summary", "labels": {}, "acknowledged": False,
            "silenced_until": None, "runbook": None}  # fmt: skip


def test_nothing_wrong_is_one_line_and_ok(tmp_path: Path) -> None:
    books, _ = load_catalog(load_config(None), tmp_path)
    report = diagnose(_doc(), books)
    assert report.code == OK and report.findings == []
    assert (
        report.line == "EDGETUI OK - nothing is wrong: no alert firing or pending, no check failing"
    )


def test_the_proven_cause_ranks_first_with_its_evidence(tmp_path: Path) -> None:
    books, _ = load_catalog(load_config(None), tmp_path)
    doc = _doc(alerts__alerts=[_alert("disk_low")], buffer__queued_bytes=60_000_000,
               buffer__state_text="broker refused: not authorized")  # fmt: skip
    report = diagnose(doc, books)
    assert report.code == CRITICAL
    (f,) = report.findings
    assert (f.name, f.state, f.severity) == ("disk_low", "firing", "critical")
    assert f.runbook is not None and f.runbook.endswith("disk_low.toml")
    first = f.causes[0]
    assert first.holds is True and "backlog" in first.title
    assert {e.path: e.value for e in first.evidence}["buffer.queued_bytes"] == 60_000_000
    assert {e.path: e.value for e in first.evidence}["buffer.state_text"].startswith("broker")
    assert first.next == "edgetui buffer stats"
    # Without the backlog the same cause is ruled out and no longer first.
    calm = diagnose(_doc(alerts__alerts=[_alert("disk_low")]), books).findings[0]
    assert calm.causes[0].title != first.title
    assert [c.holds for c in calm.causes if c.title == first.title] == [False]


def test_a_failing_check_and_a_pending_alert_are_warnings(tmp_path: Path) -> None:
    books, _ = load_catalog(load_config(None), tmp_path)
    checks = copy.deepcopy(SAMPLE["validation"]["checks"])
    checks[0] = {"name": "golden", "ok": False, "detail": "4/10 below the bar 9/10"}
    doc = _doc(validation__checks=checks, validation__golden_ok=False,
               alerts__alerts=[_alert("buffer_stale", "warning", "pending")])  # fmt: skip
    report = diagnose(doc, books)
    assert report.code == WARNING
    assert [(f.kind, f.name, f.state) for f in report.findings] == [
        ("check", "golden", "failed"), ("alert", "buffer_stale", "pending"),
    ]  # fmt: skip
    assert report.findings[0].causes[0].holds is True  # validation.golden_ok == false
    assert report.line.startswith("EDGETUI WARNING - 2 thing(s) wrong: golden (failed)")


def test_no_alert_engine_is_unknown(tmp_path: Path) -> None:
    doc = _doc()
    del doc["alerts"]
    assert diagnose(doc, {}).code == UNKNOWN


def test_a_silenced_critical_alert_is_shown_but_does_not_page(tmp_path: Path) -> None:
    books, _ = load_catalog(load_config(None), tmp_path)
    a = _alert("disk_low") | {"silenced_until": "2026-12-07T08:00:00Z"}
    report = diagnose(_doc(alerts__alerts=[a]), books)
    assert report.code == OK and report.findings[0].silenced


def test_paths_walk_lists() -> None:
    doc = {"agents": [{"name": "a", "restarts": 0}, {"name": "b", "restarts": 3}]}
    assert values_at(doc, "agents[*].restarts") == [0, 3]
    assert values_at(doc, "agents[1].name") == ["b"]
    assert values_at(doc, "agents[*].missing") == []
