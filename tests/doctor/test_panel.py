"""The What's wrong panel on `doctor` sections built by the real doctor (the shipped
runbooks, the checked-in status sample with a firing alert put in), and the part that
builds the section each tick: runbooks read again only when a file changes."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

from edgetui.config import load_config
from edgetui.doctor import DoctorService, diagnose, load_catalog
from edgetui.models.serde import to_dict
from edgetui.tui.panels.doctor import DoctorPanel
from tests.support.ui import make_app

SAMPLE = json.loads(
    (Path(__file__).parent.parent / "core" / "data" / "status_sample.json").read_text()
)
DISK_LOW = {"name": "disk_low", "severity": "critical", "state": "firing",
            "since": "2026-12-07T06:20:00Z", "value": 0.4, "summary": "disk almost full",
            "labels": {}, "acknowledged": False, "silenced_until": None,
            "runbook": None}  # fmt: skip


def _doc(alerts: list[dict[str, Any]], **buffer: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SAMPLE)
    doc["alerts"]["alerts"] = alerts
    doc["buffer"].update(buffer)
    return doc


def _section(doc: dict[str, Any], state_dir: Path) -> dict[str, Any]:
    books, errors = load_catalog(load_config(None), state_dir)
    return to_dict(diagnose(doc, books, errors))


async def test_nothing_wrong_is_one_line(tmp_path: Path) -> None:
    app, _ = make_app({"doctor": _section(_doc([]), tmp_path)})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = str(app.query_one(DoctorPanel).render())
        assert text.strip() == (
            "EDGETUI OK - nothing is wrong: no alert firing or pending, no check failing"
        )


async def test_a_firing_alert_shows_its_likely_cause_evidence_and_next_step(
    tmp_path: Path,
) -> None:
    doc = _doc([DISK_LOW], queued_bytes=60_000_000)
    app, _ = make_app({"doctor": _section(doc, tmp_path)})
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        text = str(app.query_one(DoctorPanel).render())
        assert "EDGETUI CRITICAL - 1 thing(s) wrong: disk_low (firing)" in text
        assert "1. likely" in text and "backlog" in text
        assert "buffer.queued_bytes = 60000000" in text  # the evidence it read
        assert "next: edgetui buffer stats" in text


async def test_a_broken_runbook_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "bad.toml").write_text('alert = "disk_low"\nsummary = \n')
    app, _ = make_app({"doctor": _section(_doc([]), tmp_path)})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        lines = str(app.query_one(DoctorPanel).render()).splitlines()
        errors = [line for line in lines if line.startswith("runbook error:")]
        assert len(errors) == 1 and "bad.toml" in errors[0]


async def test_the_part_reads_the_runbooks_again_only_when_a_file_changes(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr("edgetui.doctor.service.RESCAN_S", 0.0)
    svc = DoctorService(load_config(None), tmp_path, lambda: None)
    await svc.start()
    assert svc.loads == 1
    first = await svc.judge(_doc([DISK_LOW]))
    await svc.judge(_doc([DISK_LOW]))
    assert svc.loads == 1 and first.findings[0].name == "disk_low"
    book = _override(first.findings[0].runbook or "", tmp_path)
    report = await svc.judge(_doc([DISK_LOW]))
    assert svc.loads == 2 and report.findings[0].runbook == str(book)
    assert (await svc.m_report({})) is report


def _override(shipped: str, state_dir: Path) -> Path:
    """The shipped runbook copied into the state dir, where it overrides the shipped one."""
    book = state_dir / "runbooks" / "disk_low.toml"
    book.parent.mkdir()
    shutil.copyfile(shipped, book)
    os.utime(book, ns=(1, 1))
    return book


def test_doctor_panel_snapshot(snap_compare, tmp_path: Path) -> None:
    doc = _doc([DISK_LOW], queued_bytes=60_000_000)
    app, _ = make_app({"doctor": _section(doc, tmp_path)})
    assert snap_compare(app, terminal_size=(160, 48))
