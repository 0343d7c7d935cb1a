"""Field cases (the fleet's retraining samples) labelled by the teacher, deduplicated and split
by a hash of the prompt: the same cases make the same files whatever order they come in."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.modelkit import field_case, read_jsonl, teacher_answer, write_field_dataset
from edgetui.modelkit.field import split_cases


def case(location: str, hour: int, visitors: list[str] | None = None) -> dict:
    context = {"hour": hour, "expected_visitors": visitors or [], "recent_events": []}
    field = {"device_id": "cam-1", "action": "SPEAK_WARNING"}
    return field_case("MOTION_DETECTED", {"location": location}, context, field)


def test_the_label_is_the_teachers_and_the_device_decision_rides_along() -> None:
    c = case("garage", 23)
    assert c["context"]["time_of_day"] == "23:00 (night)"  # filled in as agents.llm words it
    action, message, rule = teacher_answer("MOTION_DETECTED", {"location": "garage"}, c["context"])
    assert c["expected"] == {"action": action, "message": message} and c["rule"] == rule
    assert (action, rule) == ("SPEAK_WARNING", "motion at night")
    assert c["field"] == {"device_id": "cam-1", "action": "SPEAK_WARNING", "agrees": True}
    day = case("garage", 10, ["courier at garage"])
    assert day["expected"]["action"] == "NOTIFY" and day["field"]["agrees"] is False
    assert "Expected: courier at garage" in day["prompt"]


def test_split_is_deterministic_and_never_leaves_a_split_empty(tmp_path: Path) -> None:
    cases = [case(loc, h) for loc in ("garage", "gate", "shed", "dock") for h in range(24)]
    train, val, dup = split_cases([*cases, cases[0]])
    assert dup == 1 and len(train) + len(val) == len(cases) and train and val
    again_train, again_val, _ = split_cases(list(reversed(cases)))
    assert {c["prompt"] for c in val} == {c["prompt"] for c in again_val}
    assert {c["prompt"] for c in train} == {c["prompt"] for c in again_train}
    two = split_cases(cases[:2])
    assert len(two[0]) == 1 and len(two[1]) == 1
    with pytest.raises(ValueError, match="1 distinct case: a training set needs at least two"):
        split_cases([cases[0], cases[0]])
    report = write_field_dataset(tmp_path / "d", cases, store="s")
    assert report["train"] == len(read_jsonl(tmp_path / "d" / "train.jsonl"))
    assert report["val"] == len(read_jsonl(tmp_path / "d" / "val.jsonl"))
    assert report["by_rule"] == {"motion at night": 32, "motion by day": 64}
    assert report["store"] == "s" and report["disagreements"] == 64
