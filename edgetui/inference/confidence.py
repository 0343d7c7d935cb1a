"""The model's confidence in its action, read from llama.cpp's logits under the grammar.

The decision grammar forces the text `{"action":"` and then lets the model pick one of the
actions. At that one step the worker reads the raw logits of each action's first token and
takes their softmax: the probability the model gives each action, among the actions only.
It reads them once, when the streamed piece that starts the action arrives; a logits
processor would do the same but costs a Python callback on every token (measured: +1.5 ms of
CPU per decision of the tiny model). With a character vocabulary (the tiny model) the first
tokens are exactly the first letters; with a BPE vocabulary it is the token each action
starts with when written after the prefix, a close approximation (other spellings of the
same start are ignored). When a token merges the prefix with the action's start, the step
is never seen alone and the confidence stays None.
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


def action_probs(llm: Any, tokens: dict[str, int]) -> dict[str, float]:
    """The actions' probabilities from the logits llama.cpp holds right now: call it when the
    streamed piece that starts the action arrives. llama-cpp-python yields each sampled
    token before it evaluates it, so the context's last logits are still the ones that token
    was sampled from (tests check this against a logits processor on the same prompts)."""
    import llama_cpp

    row = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    logits = {a: float(row[t]) for a, t in tokens.items()}
    top = max(logits.values())
    exp = {a: math.exp(v - top) for a, v in logits.items()}
    total = sum(exp.values())
    return {a: round(v / total, 4) for a, v in exp.items()}
