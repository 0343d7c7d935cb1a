"""A real daemon subprocess, the CLI attached to it, and the fallback to standalone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from edgetui.control import socket_path
from tests.support.cli import ROOT, env, run_cli, run_json, start_daemon


def test_status_attaches_to_daemon_then_falls_back(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "c.toml"
    cfg.write_text('[device]\nid = "cam-7"\n[telemetry]\ninterval_s = 0.2\n')
    daemon = start_daemon(state, config=cfg)
    try:
        out = run_json("--config", str(cfg), "--state-dir", str(state), "status", "--json")
        assert out["mode"] == "attached"
        assert out["device_id"] == "cam-7"
        for key in (
            "cpu_percent",
            "cpu_per_core",
            "memory_total_mb",
            "memory_free_mb",
            "disk_free_gb",
            "temperature_c",
            "uptime_seconds",
        ):
            assert key in out["resources"]
        assert out["time"].endswith("Z")
        assert "history" not in out
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
    # The daemon died without cleaning up: its socket file is stale.
    assert socket_path(state).exists()
    out = run_json("--config", str(cfg), "--state-dir", str(state), "status", "--json")
    assert out["mode"] == "standalone"
    assert out["device_id"] == "cam-7"


def test_daemon_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    daemon = start_daemon(state)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(60) == 0
    assert not socket_path(state).exists()


def test_watch_streams_ndjson(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[telemetry]\ninterval_s = 0.1\n")
    proc = run_cli(
        "--config", str(cfg), "--state-dir", str(tmp_path / "s"), "watch", "--json", "--count", "3"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3
    docs = [json.loads(line) for line in lines]
    assert all(d["mode"] == "standalone" and "resources" in d for d in docs)


def test_watch_bad_interval_is_usage_error(tmp_path: Path) -> None:
    proc = run_cli("--state-dir", str(tmp_path), "watch", "--interval", "0")
    assert proc.returncode == 2


def test_version() -> None:
    from edgetui import __version__

    assert run_json("version", "--json") == {"version": __version__}
    assert run_cli("version").stdout.strip() == f"edgetui {__version__}"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env(),
        cwd=ROOT,
        timeout=60,
    )


def test_headless_cli_does_not_import_textual() -> None:
    proc = run_python(
        "import sys, edgetui.cli, edgetui.runtime, edgetui.control, edgetui.session\n"
        "edgetui.cli.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_status_json_run_does_not_import_textual(tmp_path: Path) -> None:
    proc = run_python(
        "import sys\n"
        f"sys.argv = ['edgetui', '--state-dir', {str(tmp_path)!r}, 'status', '--json']\n"
        "from edgetui.cli import main\n"
        "rc = main()\n"
        "assert 'textual' not in sys.modules, 'textual loaded'\n"
        "sys.exit(rc)\n"
    )
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
