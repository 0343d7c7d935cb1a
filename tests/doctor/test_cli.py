"""`edgetui doctor` against a real daemon: the firing alert carries its runbook, the doctor
ranks the cause the snapshot proves, prints the next step, exits CRITICAL; a broken runbook
is one line on stderr and the others still serve. With nothing wrong: one line, exit 0."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.support.cli import run_cli, run_json, start_daemon

CONFIG = """
[device]
id = "cam-7"
[telemetry]
interval_s = 0.2
[agents]
enabled = []

[[alerts.rules]]
name = "always"
metric = "resources.process_uptime_seconds"
op = ">="
critical = 0
summary = "always firing"

[[alerts.rules]]
name = "cpu_high"
enabled = false
"""

RUNBOOK = """alert = "always"
summary = "A rule that always fires, for the test."

[[cause]]
title = "The process has been up at all"
when = ["resources.process_uptime_seconds >= 0"]
evidence = ["resources.process_uptime_seconds"]
next = "edgetui alerts silence always --for 1h"
key = "Alerts panel: s (silence)"

[[cause]]
title = "A cause the snapshot rules out"
when = ["resources.process_uptime_seconds < 0"]
next = "nothing"
"""


def test_doctor_names_the_cause_and_the_next_step(tmp_path: Path) -> None:
    state, cfg = tmp_path / "state", tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    (state / "runbooks").mkdir(parents=True)
    (state / "runbooks" / "always.toml").write_text(RUNBOOK)
    (state / "runbooks" / "broken.toml").write_text("alert = \n")
    base = ("--config", str(cfg), "--state-dir", str(state))
    daemon = start_daemon(state, config=cfg)
    try:
        for _ in range(100):
            status = run_json(*base, "status", "--json")
            firing = [a for a in status["alerts"]["alerts"] if a["state"] == "firing"]
            if firing:
                break
        (alert,) = firing
        assert alert["runbook"] == str(state / "runbooks" / "always.toml")

        proc = run_cli(*base, "doctor", "--json")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        err = proc.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"edgetui: runbook: {state / 'runbooks'}")

        report = json.loads(proc.stdout)
        assert report["state"] == "CRITICAL" and report["code"] == 2
        (f,) = report["findings"]
        assert f["name"] == "always" and f["runbook"] == alert["runbook"]
        first, second = f["causes"]
        assert first["holds"] is True and first["next"].startswith("edgetui alerts silence")
        assert first["evidence"][0]["path"] == "resources.process_uptime_seconds"
        assert first["evidence"][0]["value"] >= 0
        assert second["holds"] is False
        assert any("broken.toml" in e for e in report["runbook_errors"])

        text = run_cli(*base, "doctor")
        assert text.returncode == 2
        lines = text.stdout.splitlines()
        assert lines[0] == "EDGETUI CRITICAL - 1 thing(s) wrong: always (firing)"
        assert any("1. likely   The process has been up at all" in ln for ln in lines)
        assert any("next: edgetui alerts silence always --for 1h" in ln for ln in lines)
        assert "A cause the snapshot rules out" not in text.stdout  # counted, not listed
        assert any("1 cause(s) ruled out" in ln for ln in lines)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


def test_nothing_wrong_is_one_line_and_exit_0(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[alerts.rules]]\nname = "cpu_high"\nenabled = false\n')
    proc = run_cli("--config", str(cfg), "--state-dir", str(tmp_path / "s"), "doctor")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines() == [
        "EDGETUI OK - nothing is wrong: no alert firing or pending, no check failing"
    ]
