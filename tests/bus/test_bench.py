"""`edgetui bench bus` runs and reports both variants (figures are not asserted: no timing)."""

from __future__ import annotations

from tests.support.cli import run_cli, run_json


def test_bench_bus_json_reports_bus_baseline_and_slow_drops(tmp_path) -> None:
    out = run_json(
        "--state-dir", str(tmp_path), "bench", "bus", "--events", "3000", "--rounds", "1",
        "--queue-size", "100", "--json",
    )  # fmt: skip
    for key in ("bus", "baseline"):
        r = out[key]
        assert r["events_per_s"] > 0 and r["p99_ms"] >= r["p50_ms"] >= 0
        # The slow subscriber cannot keep up with 3000 events at 1 ms each: it dropped some,
        # and got at most what it had time for plus its queue.
        assert r["slow_dropped"] > 0
        assert r["slow_received"] + r["slow_dropped"] <= 3000
    assert out["ratio_events_per_s"] > 0
    assert len(out["subscribers"]) == 3


def test_bench_bus_text_output_and_bad_args(tmp_path) -> None:
    proc = run_cli(
        "--state-dir", str(tmp_path), "bench", "bus", "--events", "1000", "--rounds", "1"
    )
    assert proc.returncode == 0, proc.stderr
    assert "edgetui EventBus" in proc.stdout and "bare asyncio.Queue" in proc.stdout
    assert "bus / baseline" in proc.stdout
    bad = run_cli("--state-dir", str(tmp_path), "bench", "bus", "--events", "0")
    assert bad.returncode == 2
    bad = run_cli(
        "--state-dir", str(tmp_path), "bench", "bus", "--batch", "200", "--queue-size", "100"
    )
    assert bad.returncode == 2 and "--batch" in bad.stderr
