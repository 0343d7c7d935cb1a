"""The model's confidence in its action, read from llama.cpp's logits under the grammar.

The decision grammar forces the text `{"action":"` and then lets the model pick one of the
actions. At that one step a logits processor reads the raw scores of each action's first
token and takes their softmax: the probability the model gives each action, among the
actions only. With a character vocabulary (the tiny model) the first tokens are exactly the
first letters; with a BPE vocabulary it is the token each action starts with when written
after the prefix, a close approximation (other spellings of the same start are ignored).
"""

from __future__ import annotations

import math
from typing import Any

from edgetui.models.decision import ACTIONS

ACTION_PREFIX = '{"action":"'


def first_tokens(llm: Any, prefix: str = ACTION_PREFIX) -> dict[str, int] | None:
    """Each action's first token id after `prefix`; None when two actions share it."""
    base = llm.tokenize(prefix.encode("utf-8"), add_bos=False, special=False)
    out: dict[str, int] = {}
    for action in ACTIONS:
        toks = llm.tokenize((prefix + action).encode("utf-8"), add_bos=False, special=False)
        i = 0
        while i < len(base) and i < len(toks) and toks[i] == base[i]:
            i += 1
        if i >= len(toks):
            return None
        out[action] = int(toks[i])
    if len(set(out.values())) != len(out):
        return None  # the actions cannot be told apart by their first token
    return out


class ActionScorer:
    """A llama-cpp-python logits processor that records the actions' probabilities once,
    at the step right after the prefix, and otherwise passes the scores through."""

    def __init__(self, llm: Any, n_prompt: int, tokens: dict[str, int]) -> None:
        self._llm = llm
        self._n_prompt = n_prompt
        self._tokens = tokens
        self._prefix = ACTION_PREFIX.encode("utf-8")
        self.done = False
        self.probs: dict[str, float] | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.done:
            return scores
        generated = [int(t) for t in input_ids[self._n_prompt :]]
        text = self._llm.detokenize(generated) if generated else b""
        if text == self._prefix:
            logits = {a: float(scores[t]) for a, t in self._tokens.items()}
            top = max(logits.values())
            exp = {a: math.exp(v - top) for a, v in logits.items()}
            total = sum(exp.values())
            self.probs = {a: round(v / total, 4) for a, v in exp.items()}
            self.done = True
        elif len(text) > len(self._prefix) or not self._prefix.startswith(text):
            self.done = True  # past the choice (or not this grammar): stop looking
        return scores
