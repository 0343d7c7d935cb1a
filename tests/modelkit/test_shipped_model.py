"""The shipped decision model on the test split (2,000 cases generated with seed 0, kept in
tests/modelkit/data/), through the device's own inference path: accuracy, messages,
validity and confidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgetui.inference import SHIPPED_MODEL
from edgetui.modelkit import REPORT_KEYS, evaluate_model, read_jsonl
from tests.support.cli import run_cli

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.timeout(300)


async def test_the_shipped_model_meets_its_targets_on_the_test_split() -> None:
    cases = read_jsonl(DATA / "test.jsonl")
    assert len(cases) == 2000
    report = await evaluate_model(SHIPPED_MODEL, cases)
    assert report.action_accuracy >= 0.98, report.per_rule
    assert report.location_named_rate is not None and report.location_named_rate >= 0.95
    assert report.valid_rate == 1.0
    assert all(0.0 <= c <= 1.0 for c in report.confidences)
    assert len(report.confidences) == 2000  # every decision carries its confidence
    # The model is least sure where it errs.
    wrong = [r["confidence"] for r in report.rows if r["action"] != r["expected"]]
    right = [r["confidence"] for r in report.rows if r["action"] == r["expected"]]
    assert sum(wrong) / len(wrong) < sum(right) / len(right)


async def test_confidence_is_lower_on_ambiguous_prompts() -> None:
    ambiguous = await evaluate_model(SHIPPED_MODEL, read_jsonl(DATA / "ambiguous.jsonl"))
    clear = await evaluate_model(SHIPPED_MODEL, read_jsonl(DATA / "clear.jsonl"))
    assert ambiguous.mean_confidence is not None and clear.mean_confidence is not None
    assert ambiguous.mean_confidence < clear.mean_confidence
    assert min(ambiguous.confidences) < min(clear.confidences)


def test_eval_json_contract_and_side_by_side(tmp_path: Path) -> None:
    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(json.dumps(c) + "\n" for c in read_jsonl(DATA / "clear.jsonl")))
    q4 = tmp_path / "decision.q4_0.gguf"
    proc = run_cli("model", "quantize", str(SHIPPED_MODEL), str(q4), "--type", "q4_0", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["bytes"] == q4.stat().st_size < SHIPPED_MODEL.stat().st_size
    proc = run_cli("model", "eval", str(SHIPPED_MODEL), "--cases", str(golden), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(REPORT_KEYS) <= set(report) and report["cases"] == 20
    assert report["valid_rate"] == 1.0
    proc = run_cli("model", "eval", str(SHIPPED_MODEL), str(q4), "--cases", str(golden))
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0]
    assert "decision.gguf" in header and "decision.q4_0.gguf" in header
    assert "action accuracy" in proc.stdout


def test_eval_bad_input_is_one_line(tmp_path: Path) -> None:
    missing = run_cli(
        "model", "eval", str(tmp_path / "x.gguf"), "--cases", str(DATA / "clear.jsonl")
    )
    assert missing.returncode == 1 and "no such model file" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nope": 1}\n')
    proc = run_cli("model", "eval", str(SHIPPED_MODEL), "--cases", str(bad))
    assert proc.returncode == 1 and "line 1 is not a case" in proc.stderr
    for done in (missing, proc):
        assert len(done.stderr.strip().splitlines()) == 1
    proc = run_cli(
        "model", "quantize", str(tmp_path / "x.gguf"), str(tmp_path / "y"), "--type", "q8_0"
    )
    assert proc.returncode == 1 and "no such model file" in proc.stderr


def test_bench_model_compares_the_variants_with_the_rule_policy() -> None:
    proc = run_cli("bench", "model", "--cases", str(DATA / "clear.jsonl"), "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["cases"] == 20
    assert set(result["variants"]) == {"rule policy", "f16", "q8_0", "q4_0"}
    assert result["variants"]["rule policy"]["accuracy"] == 1.0
    for name in ("f16", "q8_0", "q4_0"):
        row = result["variants"][name]
        assert set(row) >= {"accuracy", "p50_ms", "p95_ms", "tokens_per_s", "file_bytes",
                            "load_ms", "rss_added_mb", "p50_vs_rules"}  # fmt: skip
        assert row["valid_rate"] == 1.0
    sizes = [result["variants"][n]["file_bytes"] for n in ("f16", "q8_0", "q4_0")]
    assert sizes == sorted(sizes, reverse=True)
