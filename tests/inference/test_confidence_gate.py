"""`[inference] min_confidence`: a model decision under it goes to the rule policy, whose
reason says why; the DECISION's confidence is kept."""

from __future__ import annotations

from pathlib import Path

from edgetui.inference import SHIPPED_MODEL
from edgetui.modelkit import read_jsonl
from edgetui.models.decision import fallback_decision
from edgetui.models.event import Event
from tests.inference.helpers import started_engine
from tests.modelkit.test_shipped_model import DATA
from tests.support.cli import run_cli


async def test_an_unsure_model_decision_goes_to_the_rule_policy(state_dir: Path) -> None:
    engine = await started_engine(
        state_dir, model_path=str(SHIPPED_MODEL), temperature=0.0, min_confidence=0.9,
        timeout_s=120.0,
    )  # fmt: skip
    gated = []
    try:
        for case in read_jsonl(DATA / "ambiguous.jsonl"):
            ev = Event(type=case["event_type"], source="t", data=case["data"])
            d = await engine.decide(ev, case["context"])
            assert d.confidence is not None and 0.0 <= d.confidence <= 1.0
            if d.source == "model":
                assert d.confidence >= 0.9
            else:
                gated.append(d)
                rule = fallback_decision(case["event_type"], case["data"], case["context"], "")
                assert d.action == rule.action
                assert f"model confidence {d.confidence:.2f} < 0.90" in d.reason
        assert engine.section().last_decision.confidence == d.confidence
    finally:
        await engine.stop()
    assert gated, "no ambiguous probe fell under 0.90"


def test_min_confidence_out_of_range_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[inference]\nmin_confidence = 1.5\n")
    proc = run_cli("--config", str(cfg), "--state-dir", str(tmp_path / "s"), "status", "--json")
    assert proc.returncode == 2
    assert "[inference] min_confidence" in proc.stderr and str(cfg) in proc.stderr
