"""The alert commands against a real daemon: `alerts`, `ack`, `silence`, `check` (Nagios),
`drill`, `/metrics` and the textfile (checked by promtool where installed), config errors."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from edgetui.bench.broker import free_port
from tests.support.cli import run_cli, run_json, start_daemon

ITEM_KEYS = {
    "runbook",
    "name",
    "severity",
    "state",
    "since",
    "value",
    "summary",
    "labels",
    "acknowledged",
    "silenced_until",
}

CONFIG = """
[device]
id = "cam-9"
[telemetry]
interval_s = 0.2
[agents]
enabled = ["sensor"]
[metrics]
listen = "127.0.0.1:{port}"
textfile = "{textfile}"
textfile_interval_s = 0.2

[[alerts.rules]]
name = "always"
metric = "resources.process_uptime_seconds"
op = ">="
critical = 0
summary = "always firing"

[[alerts.rules]]
name = "always_warn"
metric = "resources.memory_total_mb"
op = ">"
warning = 0
labels = {{team = "ops"}}

[[alerts.rules]]
name = "agent_down"
for_s = 0.4

# This machine's own CPU is not what the test is about (it may well be busy).
[[alerts.rules]]
name = "cpu_high"
enabled = false

[[alerts.rules]]
name = "disk_low"
for_s = 0.4
"""


def promtool_ok(text: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_alert_commands_check_drill_and_metrics(tmp_path: Path) -> None:
    state, cfg, textfile = tmp_path / "state", tmp_path / "c.toml", tmp_path / "edgetui.prom"
    port = free_port()
    cfg.write_text(CONFIG.format(port=port, textfile=textfile))
    base = ("--config", str(cfg), "--state-dir", str(state))
    daemon = start_daemon(state, config=cfg)
    try:
        listing = run_json(*base, "alerts", "--json")
        assert set(listing) == {"alerts", "silences"}
        by_name = {a["name"]: a for a in listing["alerts"]}
        assert {"always", "always_warn"} <= set(by_name)
        assert all(set(a) == ITEM_KEYS for a in listing["alerts"])
        assert by_name["always"]["severity"] == "critical"
        assert by_name["always_warn"]["labels"] == {"team": "ops"}
        assert listing["alerts"][0]["name"] == "always"  # critical first

        status = run_json(*base, "status", "--json")
        assert status["alerts"]["counts"] == {"critical": 1, "warning": 1}
        assert [a["name"] for a in status["alerts"]["alerts"]] == [
            a["name"] for a in listing["alerts"]
        ]

        proc = run_cli(*base, "check")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        line = proc.stdout.strip()
        assert "\n" not in line
        assert line.startswith("EDGETUI CRITICAL - 1 critical, 1 warning: always (")
        perf = line.split(" | ", 1)[1]
        assert perf.startswith("cpu=")  # (the built-in CPU rule is off here: no thresholds)
        assert "mem_available=" in perf and ";10:;5:;0;100" in perf

        out = run_json(
            *base, "alerts", "silence", "always", "--for", "1h", "--comment", "x", "--json"
        )
        assert out["silences"][0]["name"] == "always" and out["silences"][0]["comment"] == "x"
        assert run_cli(*base, "check").returncode == 1  # only the warning counts now
        out = run_json(*base, "alerts", "ack", "always_warn", "--json")
        assert {a["name"]: a for a in out["alerts"]}["always_warn"]["acknowledged"] is True
        run_json(*base, "alerts", "unsilence", "always", "--json")

        bad = run_cli(*base, "alerts", "silence", "nope", "--for", "1h")
        assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
        assert "no alert rule named 'nope'" in bad.stderr
        assert run_cli(*base, "alerts", "silence", "always", "--for", "soon").returncode == 2
        readonly = run_cli(*base, "--readonly", "alerts", "ack", "always")
        assert readonly.returncode == 2 and "--readonly" in readonly.stderr

        drill = run_cli(*base, "drill", "agent-crash", "--json", timeout=120)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        report = json.loads(drill.stdout)
        assert report["ok"] and report["labels"] == {"agent": "sensor", "drill": True}
        text = run_cli(*base, "drill", "disk-full", timeout=120)
        assert text.returncode == 0, text.stdout + text.stderr
        lines = text.stdout.splitlines()
        assert lines[0].startswith("drill disk-full: rule disk_low{drill=True}")
        assert [ln.split()[0] for ln in lines[1:4]] == ["pending", "firing", "resolved"]
        assert lines[-1].startswith("PASS")
        history = run_json(*base, "alerts", "--all", "--json")["history"]
        assert any(h["name"] == "agent_down" and h["labels"].get("drill") for h in history)

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            body = resp.read().decode()
        assert 'edgetui_alert{alertname="always",severity="critical",state="firing"} 1.0' in body
        assert 'edgetui_agent_up{agent="sensor"} 1.0' in body
        assert "edgetui_cpu_usage_ratio " in body and "edgetui_buffer_queued_messages " in body
        assert "edgetui_ota_slot_info{" not in body or "slot=" in body
        promtool_ok(body)
        assert textfile.exists()
        promtool_ok(textfile.read_text())
        assert "edgetui_alert{" in textfile.read_text()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    proc = run_cli(*base, "check")
    assert proc.returncode == 3 and proc.stdout.startswith("EDGETUI UNKNOWN - no edgetui daemon")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            'name = "x"\nmetric = "resources.cpu_percent"\nop = "=~"\nwarning = 1',
            "[[alerts.rules]] x: op: unknown operator '=~'",
        ),
        (
            'name = "x"\nmetric = "resources.cpu_percent"\nop = ">"\nwarning = 1\nfor_s = -5',
            "[[alerts.rules]] x: for_s: expected 0 or more seconds",
        ),
        (
            'name = "x"\nmetric = "resources.cpu_pecent"\nop = ">"\nwarning = 1',
            "[[alerts.rules]] x: metric: 'resources.cpu_pecent': the status has no",
        ),
        ('name = "y"\nop = ">"\nwarning = 1', "[[alerts.rules]] y: metric: required"),
    ],
)
def test_bad_rules_are_one_line_config_errors(tmp_path: Path, rule: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[agents]\nenabled = []\n[[alerts.rules]]\n{rule}\n")
    proc = run_cli("--config", str(cfg), "--state-dir", str(tmp_path / "s"), "status", "--json")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if "config error" in ln]
    assert len(lines) == 1 and message in lines[0] and str(cfg) in lines[0], proc.stderr
