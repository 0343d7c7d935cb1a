"""Golden prompts scored as accuracy against a pass bar, on the real tiny model (greedy, so
the same prompt always gets the same action)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from edgetui.inference.golden import load_golden, parse_bar, run_golden
from edgetui.models.decision import ACTIONS
from edgetui.models.event import Event
from tests.inference.helpers import started_engine

MOTION = {"type": "MOTION_DETECTED", "data": {"location": "gate"}}


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_pass_bar_forms() -> None:
    assert parse_bar(0.9, "g") == Fraction(9, 10)
    assert parse_bar("28/30", "g") == Fraction(28, 30)
    assert parse_bar(1, "g") == 1
    for bad in (0, 1.5, "x/3", "3/0", True, None):
        with pytest.raises(ValueError, match="pass_bar"):
            parse_bar(bad, "g")


def test_bad_golden_files_are_one_line_errors(tmp_path: Path) -> None:
    cases = [{"event": MOTION, "expected": "NOTIFY"}]
    bad = {
        "bar.json": {"pass_bar": 2, "cases": cases},
        "action.json": [{"event": MOTION, "expected": "JUMP"}],
        "empty.json": {"pass_bar": 0.5, "cases": []},
        "noevent.json": [{"expected": "NOTIFY"}],
    }
    for name, doc in bad.items():
        with pytest.raises(ValueError) as info:
            load_golden(write(tmp_path / name, doc))
        assert name in str(info.value) and "\n" not in str(info.value)
    suite = load_golden(write(tmp_path / "ok.json", {"pass_bar": "28/30", "cases": cases * 30}))
    assert suite.required == 28
    assert load_golden(write(tmp_path / "list.json", cases * 3)).required == 3  # all of them


async def test_accuracy_counts_the_expected_action(
    state_dir: Path, tmp_path: Path, tiny_model: Path
) -> None:
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), temperature=0.0, timeout_s=120.0
    )
    try:
        context = {"time_of_day": "12:00 (midday)", "hour": 12}
        event = Event(type=MOTION["type"], source="t", data=MOTION["data"])
        own = await engine.decide(event, context)
        assert own.source == "model"
        # The same prompt three times, one expected action each: greedy decoding gets exactly
        # one right, whatever this random model prefers.
        cases = [{"event": MOTION, "expected": a} for a in ACTIONS]
        result = await run_golden(engine, write(tmp_path / "g.json", cases))
        assert (result.passed, result.total, result.required) == (1, 3, 3)
        assert not result.ok and result.detail.startswith("golden 1/3 < 3/3")
        assert "expected" in result.detail
        lenient = {"pass_bar": "1/3", "cases": cases}
        result = await run_golden(engine, write(tmp_path / "l.json", lenient))
        assert result.ok and result.passed == 1 and result.bar == "1/3"
        assert len(result.latencies_ms) == 3 and result.p95_ms is not None
        assert result.confidence_mean is not None and 0.0 <= result.confidence_mean <= 1.0
        # The message form of `expected`, and the legacy `allowed` form, in one file.
        mixed = [
            {"event": MOTION, "expected": {"action": own.action, "message": "Motion at gate"}},
            {"event": MOTION, "allowed": list(ACTIONS)},
        ]
        result = await run_golden(engine, write(tmp_path / "m.json", mixed))
        assert result.ok and result.passed == 2
    finally:
        await engine.stop()
    # The fallback policy deciding is never a pass, even when its action is the expected one.
    missing = await started_engine(state_dir, model_path=str(tmp_path / "none.gguf"))
    one = write(tmp_path / "f.json", [{"event": MOTION, "expected": "NOTIFY"}])
    result = await run_golden(missing, one)
    assert result.passed == 0 and not result.ok and "model unavailable" in result.detail
    await missing.stop()
