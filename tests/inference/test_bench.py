"""`edgetui bench inference` measures the worker process, the in-thread engine and a bare call
in one run, and the crash recovery; what it prints is what it measured (no wall-clock
assertions here: figures vary with the machine)."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli

pytestmark = pytest.mark.timeout(300)


def test_bench_inference_reports_every_path_and_the_recovery() -> None:
    proc = run_cli("bench", "inference", "--runs", "3", "--repack", "--json", timeout=280)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["runs"] == 3 and r["identical"] == 3
    for path in ("bare", "process", "thread", "repacked"):
        assert set(r[path]) == {"p50_ms", "p95_ms", "p99_ms"}
        assert 0 < r[path]["p50_ms"] <= r[path]["p95_ms"] <= r[path]["p99_ms"]
    assert r["ratio_process_p50"] == round(r["process"]["p50_ms"] / r["bare"]["p50_ms"], 3)
    assert len(r["recovery_ms"]) == 3 and all(v > 0 for v in r["recovery_ms"])
    # A restart waits for the backoff first: recovery can never be shorter.
    assert min(r["recovery_ms"]) >= r["restart_backoff_s"] * 1000.0
    assert r["repack_weights"] is False and isinstance(r["goal_met"], bool)
    # The harness's comparisons: the process and thread paths against the bare call.
    by_name = {c["name"]: c for c in r["comparisons"]}
    p50 = by_name["process path / bare call, p50"]
    # A block of calls per path and round, the first of each left out.
    assert len(p50["candidate_samples"]) == r["samples_per_path"] == 3 * (r["calls_per_round"] - 1)
    assert p50["goal"]["limit"] == 1.10 and p50["met"] == (p50["ratio"] <= 1.10)
    assert "bare call, weights not repacked / repacked, p50" in by_name
