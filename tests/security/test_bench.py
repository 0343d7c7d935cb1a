"""`edgetui bench audit` runs and reports both variants (figures are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from edgetui.bench.audit import measure_append
from tests.support.cli import run_cli


def test_bench_audit_reports_both_variants(tmp_path: Path) -> None:
    out = measure_append(tmp_path, records=5, rounds=2)
    assert len(out["audit_per_round_us"]) == len(out["bare_per_round_us"]) == 2
    assert out["audit_append_us"] > 0 and out["bare_append_us"] > 0 and out["ratio"] > 0
    assert not list(tmp_path.glob("*.log"))  # each round's file is removed


def test_bench_audit_cli_json(tmp_path: Path) -> None:
    proc = run_cli(
        "bench", "audit", "--records", "3", "--rounds", "1", "--json", "--dir", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert {"audit_append_us", "bare_append_us", "ratio", "sign_head_ms"} <= set(
        json.loads(proc.stdout)
    )
    bad = run_cli("bench", "audit", "--records", "0")
    assert bad.returncode == 2 and "at least 1" in bad.stderr
