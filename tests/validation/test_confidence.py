"""The model's confidence in its action, read from llama.cpp's logits under the grammar."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from edgetui.inference import DECISION_GRAMMAR, DECISION_TOKEN_BUDGET
from edgetui.inference.confidence import ActionScorer, crosses_prefix
from edgetui.models.decision import ACTIONS
from edgetui.models.event import Event
from tests.inference.helpers import started_engine

CONTEXT = {"time_of_day": "23:00 (night)", "hour": 23}


async def test_a_model_decision_carries_the_probability_of_its_action(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = await started_engine(state_dir, model_path=str(tiny_model), timeout_s=120.0)
    try:
        for data in ({"location": "gate"}, {"location": "garage"}, {}):
            ev = Event(type="MOTION_DETECTED", source="t", data=data)
            decision = await engine.decide(ev, CONTEXT)
            assert decision.source == "model", decision.reason
            probs = engine.stats.last.action_probs
            assert probs is not None and set(probs) == set(ACTIONS)
            assert abs(sum(probs.values()) - 1.0) < 1e-3
            assert decision.confidence == probs[decision.action]
            assert 0.0 < decision.confidence <= 1.0
        assert engine.section().last_decision.confidence == decision.confidence
    finally:
        await engine.stop()


async def test_the_fallback_has_no_confidence(state_dir: Path, tmp_path: Path) -> None:
    engine = await started_engine(state_dir, model_path=str(tmp_path / "missing.gguf"))
    decision = await engine.decide(Event(type="MOTION_DETECTED", source="t", data={}), CONTEXT)
    assert decision.source == "fallback" and decision.confidence is None
    await engine.stop()


class ReferenceScorer:
    """The obvious way, as a logits processor: at the step whose token crosses the prefix,
    the same candidate sets over that step's logits. The worker reads the same logits once
    instead of every token."""

    def __init__(self, llm: llama_cpp.Llama, n_prompt: int, scorer: ActionScorer) -> None:
        self.llm, self.n_prompt, self.scorer = llm, n_prompt, scorer
        self.rows: list = []
        self.probs: dict[str, float] | None = None

    def __call__(self, input_ids, scores):
        self.rows.append(scores.copy())
        return scores

    def finish(self, tokens: list[int]) -> None:
        so_far = ""
        for i, tok in enumerate(tokens):
            piece = self.llm.detokenize([tok]).decode()
            if crosses_prefix(so_far, piece):
                self.probs = self.scorer.probs_from(self.rows[i], so_far)
                return
            so_far += piece


@pytest.mark.native  # llama_cpp.Llama in this process
async def test_confidence_matches_a_logits_processor(state_dir: Path, tiny_model: Path) -> None:
    llm = llama_cpp.Llama(model_path=str(tiny_model), n_ctx=1024, verbose=False)
    grammar = llama_cpp.LlamaGrammar.from_string(DECISION_GRAMMAR, verbose=False)
    action_scorer = ActionScorer(llm)
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), temperature=0.0, timeout_s=120.0
    )
    try:
        for where in ("gate", "garage", "front_door"):
            data = {"location": where}
            await engine.decide(Event(type="MOTION_DETECTED", source="t", data=data), CONTEXT)
            prompt = engine.last_prompt
            n_prompt = len(llm.tokenize(prompt.encode()))
            scorer = ReferenceScorer(llm, n_prompt, action_scorer)
            out = llm.create_completion(
                prompt,
                grammar=grammar,
                max_tokens=DECISION_TOKEN_BUDGET,
                temperature=0.0,
                logits_processor=llama_cpp.LogitsProcessorList([scorer]),
            )
            assert out["choices"][0]["text"]
            scorer.finish(list(llm._input_ids[n_prompt:]))
            assert scorer.probs is not None
            assert engine.stats.last.action_probs == scorer.probs
    finally:
        await engine.stop()
        llm.close()


@pytest.mark.native  # llama_cpp.Llama in this process
def test_each_action_has_its_own_candidate_tokens(tiny_model: Path) -> None:
    llm = llama_cpp.Llama(model_path=str(tiny_model), n_ctx=256, verbose=False)
    try:
        cands = ActionScorer(llm).candidates('{"action":"')
        assert cands is not None and set(cands) == set(ACTIONS)
        for action, ids in cands.items():
            texts = {llm.detokenize([t]).decode() for t in ids}
            assert action[0] in texts  # a character vocabulary: the first letter at least
            assert all(t.startswith(action[0]) for t in texts)
    finally:
        llm.close()


@pytest.mark.native  # llama_cpp.Llama in this process
def test_a_token_fused_with_the_prefix_still_gives_the_confidence() -> None:
    from edgetui.inference import SHIPPED_MODEL

    llm = llama_cpp.Llama(model_path=str(SHIPPED_MODEL), n_ctx=256, verbose=False)
    try:
        fused = ActionScorer(llm).candidates("")
        assert fused is not None
        texts = {a: {llm.detokenize([t]).decode() for t in ids} for a, ids in fused.items()}
        assert '{"action":"NOTIFY",' in texts["NOTIFY"]
        assert '{"action":"SPEAK_WARNING",' in texts["SPEAK_WARNING"]
    finally:
        llm.close()
