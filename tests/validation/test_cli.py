"""`edgetui validate` on the demo device through the real CLI: exit codes, the JSON contract,
the stored report in `status`, and config errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.cli import run_cli, start_daemon


def demo(tmp_path: Path) -> Path:
    state = tmp_path / "demo"
    proc = run_cli("--state-dir", str(state), "demo", "init")
    assert proc.returncode == 0, proc.stderr
    return state


def test_validate_passes_then_fails_on_a_damaged_model(tmp_path: Path) -> None:
    state = demo(tmp_path)
    proc = run_cli("--state-dir", str(state), "validate", "--json", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert set(report) >= {"ok", "checks", "golden", "latency"}
    # The shipped model's golden set checks actions: 29 of 30 right, over the 28/30 bar.
    assert report["golden"]["total"] == 30 and report["golden"]["bar"] == "28/30"
    assert report["golden"]["passed"] == 29
    assert set(report["latency"]) >= {"p95_ms", "baseline_p95_ms", "ratio"}
    assert {c["name"] for c in report["checks"]} == {"golden", "latency", "agents", "model"}
    for check in report["checks"]:
        assert set(check) >= {"name", "ok", "detail"}
    # The report is stored: a later status shows it (a new process, the same state dir).
    status = json.loads(run_cli("--state-dir", str(state), "status", "--json").stdout)
    assert status["validation"]["at"] == report["at"]
    assert status["validation"]["golden_ok"] is True
    assert status["validation"]["golden"]["bar"] == report["golden"]["bar"]
    assert status["inference"]["baseline"] is None and status["inference"]["p95_ratio"] is None
    assert status["drift"]["psi_max"] is None and status["drift"]["band"] == "none"

    text = run_cli("--state-dir", str(state), "validate", timeout=120)
    assert text.returncode == 0 and "PASSED" in text.stdout

    # One flipped byte: the boot refuses the slot, no model loads, the rule policy decides.
    model = next((state / "slots" / "current" / "model").glob("*.gguf"))
    with open(model, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    proc = run_cli("--state-dir", str(state), "validate", "--json", timeout=120)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert checks["model"]["ok"] is False and "model unavailable" in checks["model"]["detail"]


def test_validation_config_errors_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    for body, key in (
        ("[validation]\nlatency_ratio_max = 0\n", "[validation] latency_ratio_max"),
        ("[validation]\nbaseline_window_s = 'long'\n", "[validation] baseline_window_s"),
        ("[validation]\ndrift_windw = 5\n", "[validation] drift_windw"),
    ):
        cfg.write_text(body)
        proc = run_cli("--config", str(cfg), "--state-dir", str(tmp_path / "s"), "validate")
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0] and str(cfg) in lines[0]


def test_disabled_validation_is_absent(tmp_path: Path) -> None:
    state = demo(tmp_path)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[validation]\nenabled = false\n")
    proc = run_cli("--config", str(cfg), "--state-dir", str(state), "validate")
    assert proc.returncode == 1 and "validation is not running" in proc.stderr
    status = json.loads(
        run_cli("--config", str(cfg), "--state-dir", str(state), "status", "--json").stdout
    )
    assert "validation" not in status and "drift" not in status
    assert "baseline" not in status["inference"]


def test_bench_validation_prints_figures_and_ratios(tmp_path: Path) -> None:
    proc = run_cli(
        "--state-dir", str(tmp_path / "s"), "bench", "validation", "--runs", "2", "--json",
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["runs"] == 2 and r["plain_p50_ms"] > 0 and r["scored_p50_ms"] > 0
    assert r["confidence_ratio_p50"] > 0
    assert r["drift_per_decision_us"] > 0 and r["drift_section_us"] > 0
    assert r["drift_psi_max"] is not None  # 2000 decisions: a reference and a full window


def test_validate_attached_to_the_daemon(tmp_path: Path) -> None:
    state = demo(tmp_path)
    daemon = start_daemon(state)
    try:
        proc = run_cli("--state-dir", str(state), "validate", "--json", timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        deadline = time.monotonic() + 30
        while True:  # the daemon's next snapshot carries the report
            status = json.loads(run_cli("--state-dir", str(state), "status", "--json").stdout)
            if (status.get("validation") or {}).get("at") == report["at"]:
                break
            assert time.monotonic() < deadline, status.get("validation")
    finally:
        daemon.kill()
        daemon.wait()
    assert status["mode"] == "attached"
    assert report["ok"] and status["validation"]["at"] == report["at"]
    assert status["inference"]["baseline_recording"]["version"] == "1.0.0"  # committed slot


def test_bundle_build_refuses_a_bad_golden_file(tmp_path: Path) -> None:
    key = tmp_path / "k"
    assert run_cli("keys", "generate", "--out", str(key)).returncode == 0
    src = tmp_path / "src"
    src.mkdir()
    golden = [{"event": {"type": "MOTION_DETECTED"}, "expected": "PANIC"}]
    (src / "golden.json").write_text(json.dumps({"pass_bar": "28/30", "cases": golden}))
    args = ["bundle", "build", "--source", str(src), "--version", "1.0.0"]
    proc = run_cli(*args, "--key", f"{key}.key", "--out", str(tmp_path / "o"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "golden.json: case 0: expected: 'PANIC'" in lines[0]
    assert not (tmp_path / "o" / "manifest.json").exists()
