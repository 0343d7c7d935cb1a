"""`edgetui model dataset`: every rule covered, grammar-valid labels from the rule policy,
and no held-out case in training."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from edgetui.inference import DECISION_GRAMMAR, build_prompt, load_golden
from edgetui.modelkit import RULES, read_jsonl, write_dataset
from edgetui.modelkit.teacher import MESSAGE_CHARS, MESSAGE_MAX
from edgetui.models.decision import fallback_decision
from tests.support.cli import run_cli

TRAINING = ("train", "train_twins", "train_randloc")
HELD_OUT = ("val", "test", "golden", "ambiguous", "clear", "ood")


def test_dataset_covers_every_rule_and_never_leaks_held_out_cases(tmp_path: Path) -> None:
    proc = run_cli("model", "dataset", "--out", str(tmp_path / "d"), "--n", "2000", "--json")
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout)
    assert counts["train"] == 2000 and counts["test"] == 200 and counts["golden"] == 30
    files = {name: read_jsonl(tmp_path / "d" / f"{name}.jsonl") for name in (*TRAINING, *HELD_OUT)}
    for name in ("train", "test", "golden"):
        assert set(Counter(c["rule"] for c in files[name])) == set(RULES), name
    train_prompts = {build_prompt(c["event_type"], c["data"], c["context"]) for n in TRAINING
                     for c in files[n]}  # fmt: skip
    for name in HELD_OUT:
        held = {build_prompt(c["event_type"], c["data"], c["context"]) for c in files[name]}
        assert not held & train_prompts, f"{name} leaked into training"
    # The labels are the rule policy's actions, the messages what the grammar admits.
    for case in files["test"] + files["golden"]:
        assert set(case) >= {"event_type", "data", "context", "expected"}
        assert set(case["context"]) >= {"hour", "expected_visitors", "recent_events"}
        want = fallback_decision(case["event_type"], case["data"], case["context"], "t")
        assert case["expected"]["action"] == want.action
        msg = case["expected"]["message"]
        assert 1 <= len(msg) <= MESSAGE_MAX and set(msg) <= MESSAGE_CHARS, msg
    assert f"{{1,{MESSAGE_MAX}}}" in DECISION_GRAMMAR
    # Locations: every default sensor location and readings on both sides of each threshold.
    where = Counter(c["data"].get("location") for c in files["train"])
    assert {"front_door", "garage", "backyard"} <= set(where)
    hours = {c["context"]["hour"] for c in files["train"]}
    assert hours == set(range(24))
    # The golden set loads as the health check's golden prompts, with its pass bar.
    suite = load_golden(tmp_path / "d" / "golden.json")
    assert len(suite.cases) == 30 and suite.required == 28


def test_dataset_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a", 200, seed=3)
    b = write_dataset(tmp_path / "b", 200, seed=3)
    assert a == b
    assert (tmp_path / "a" / "test.jsonl").read_bytes() == (
        tmp_path / "b" / "test.jsonl"
    ).read_bytes()
    write_dataset(tmp_path / "c", 200, seed=4)
    assert (tmp_path / "a" / "test.jsonl").read_bytes() != (
        tmp_path / "c" / "test.jsonl"
    ).read_bytes()


def test_bad_arguments_exit_with_one_line(tmp_path: Path) -> None:
    proc = run_cli("model", "dataset", "--out", str(tmp_path / "d"), "--n", "3")
    assert proc.returncode != 0 and "--n must be at least 20" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
