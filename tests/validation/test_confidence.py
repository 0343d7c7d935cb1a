"""The model's confidence in its action, read from llama.cpp's logits under the grammar."""

from __future__ import annotations

import math
from pathlib import Path

import llama_cpp

from edgetui.inference import DECISION_GRAMMAR, DECISION_TOKEN_BUDGET
from edgetui.inference.confidence import ACTION_PREFIX, first_tokens
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
        assert engine.section()["last_decision"]["confidence"] == decision.confidence
    finally:
        await engine.stop()


async def test_the_fallback_has_no_confidence(state_dir: Path, tmp_path: Path) -> None:
    engine = await started_engine(state_dir, model_path=str(tmp_path / "missing.gguf"))
    decision = await engine.decide(Event(type="MOTION_DETECTED", source="t", data={}), CONTEXT)
    assert decision.source == "fallback" and decision.confidence is None
    await engine.stop()


class ReferenceScorer:
    """The obvious way, as a logits processor: at the step after the prefix, softmax over the
    actions' first tokens. The worker reads the same logits once instead of every token."""

    def __init__(self, llm: llama_cpp.Llama, n_prompt: int, tokens: dict[str, int]) -> None:
        self.llm, self.n_prompt, self.tokens = llm, n_prompt, tokens
        self.probs: dict[str, float] | None = None

    def __call__(self, input_ids, scores):
        text = self.llm.detokenize([int(t) for t in input_ids[self.n_prompt :]])
        if self.probs is None and text == ACTION_PREFIX.encode():
            logits = {a: float(scores[t]) for a, t in self.tokens.items()}
            top = max(logits.values())
            exp = {a: math.exp(v - top) for a, v in logits.items()}
            self.probs = {a: round(v / sum(exp.values()), 4) for a, v in exp.items()}
        return scores


async def test_confidence_matches_a_logits_processor(state_dir: Path, tiny_model: Path) -> None:
    llm = llama_cpp.Llama(model_path=str(tiny_model), n_ctx=1024, verbose=False)
    grammar = llama_cpp.LlamaGrammar.from_string(DECISION_GRAMMAR, verbose=False)
    tokens = first_tokens(llm)
    assert tokens is not None
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), temperature=0.0, timeout_s=120.0
    )
    try:
        for where in ("gate", "garage", "front_door"):
            data = {"location": where}
            await engine.decide(Event(type="MOTION_DETECTED", source="t", data=data), CONTEXT)
            prompt = engine.last_prompt
            scorer = ReferenceScorer(llm, len(llm.tokenize(prompt.encode())), tokens)
            llm.create_completion(
                prompt,
                grammar=grammar,
                max_tokens=DECISION_TOKEN_BUDGET,
                temperature=0.0,
                logits_processor=llama_cpp.LogitsProcessorList([scorer]),
            )
            assert scorer.probs is not None
            assert engine.stats.last.action_probs == scorer.probs
    finally:
        await engine.stop()
        llm.close()


def test_each_action_has_its_own_first_token(tiny_model: Path) -> None:
    llm = llama_cpp.Llama(model_path=str(tiny_model), n_ctx=256, verbose=False)
    try:
        tokens = first_tokens(llm)
        assert tokens is not None and len(set(tokens.values())) == 3
        for action, tok in tokens.items():
            assert llm.detokenize([tok]).decode() == action[0]  # a character vocabulary
    finally:
        llm.close()
