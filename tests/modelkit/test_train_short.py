"""A CI-sized training run (300 steps on 3,000 cases, the small architecture) through
`edgetui model train`, then `model eval` through llama.cpp: it beats the majority-class
baseline. This proves the pipeline end to end, not the final quality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgetui.modelkit import majority_baseline, read_jsonl
from tests.support.cli import run_cli

pytestmark = pytest.mark.timeout(600)


def test_a_short_run_beats_the_majority_baseline(tmp_path: Path) -> None:
    data, model = tmp_path / "data", tmp_path / "short.gguf"
    proc = run_cli("model", "dataset", "--out", str(data), "--n", "3000", "--seed", "0")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(
        "model", "train", "--data", str(data), "--out", str(model), "--steps", "300",
        "--batch", "32", "--arch", "small", "--train-limit", "3000", "--seed", "0", "--json",
        timeout=540,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.loads(proc.stdout)
    assert stats["steps"] == 300 and stats["gguf_bytes"] == model.stat().st_size
    assert (tmp_path / "short.train.json").is_file() and (tmp_path / "short.npz").is_file()
    proc = run_cli("model", "eval", str(model), "--cases", str(data / "test.jsonl"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    _, baseline = majority_baseline(read_jsonl(data / "test.jsonl"))
    assert report["valid_rate"] == 1.0
    assert report["action_accuracy"] > baseline + 0.1, (report["action_accuracy"], baseline)


def test_train_without_data_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("model", "train", "--data", str(tmp_path), "--out", str(tmp_path / "m.gguf"))
    assert proc.returncode == 1 and "run `edgetui model dataset`" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
