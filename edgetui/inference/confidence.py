"""The model's confidence in its action, read from llama.cpp's logits under the grammar.

The decision grammar forces the text `{"action":"` and then lets the model pick one of the
actions. The step that picks it is the one whose sampled token first reaches past that
prefix; a vocabulary may fuse the prefix with the action (the shipped model has one
`{"action":"NOTIFY",` token per action), so that step can be the very first one. At that
step every token whose text, written after what came before, stays on the way to exactly one
action commits to that action. P(action) is the softmax over all those tokens' logits,
summed per action; the confidence of a decision is P(its action).

The worker reads the logits once, when the streamed piece that crosses the prefix arrives;
a logits processor would do the same but costs a Python callback on every token (measured:
+1.5 ms of CPU per decision of the tiny model). The candidate tokens for each position in the
prefix are found once per model from the vocabulary's texts.
"""

from __future__ import annotations

import math
from typing import Any

from edgetui.models.decision import ACTIONS

ACTION_PREFIX = '{"action":"'
# What the grammar writes right after an action's name.
_AFTER_ACTION = '"'


def token_texts(llm: Any) -> list[str]:
    """Every token's text as llama.cpp renders it (undecodable bytes dropped)."""
    return [llm.detokenize([i]).decode("utf-8", errors="ignore") for i in range(int(llm.n_vocab()))]


def action_candidates(texts: list[str], so_far: str) -> dict[str, list[int]] | None:
    """{action: ids of the tokens that, written after `so_far`, commit to that action}.

    `so_far` must be a prefix of ACTION_PREFIX (else None). A token commits to an action when
    `so_far` + its text reaches past the prefix and agrees with `prefix + action + '"'` as far
    as both go. None when some action has no such token (its probability cannot be read).
    """
    if not ACTION_PREFIX.startswith(so_far):
        return None
    out: dict[str, list[int]] = {a: [] for a in ACTIONS}
    targets = {a: ACTION_PREFIX + a + _AFTER_ACTION for a in ACTIONS}
    for i, text in enumerate(texts):
        s = so_far + text
        if not text or len(s) <= len(ACTION_PREFIX):
            continue
        for action, target in targets.items():
            m = min(len(s), len(target))
            if s[:m] == target[:m]:
                out[action].append(i)
                break  # the first character after the prefix tells the actions apart
    if any(not ids for ids in out.values()):
        return None
    return out


class ActionScorer:
    """Reads P(action) for one model: candidate sets cached per position in the prefix."""

    def __init__(self, llm: Any) -> None:
        self._texts = token_texts(llm)
        self._cache: dict[str, dict[str, list[int]] | None] = {}

    def candidates(self, so_far: str) -> dict[str, list[int]] | None:
        """The cached `action_candidates` for `so_far`."""
        if so_far not in self._cache:
            self._cache[so_far] = action_candidates(self._texts, so_far)
        return self._cache[so_far]

    def probs_from(self, row: Any, so_far: str) -> dict[str, float] | None:
        """P(action) from one step's logits `row` (indexable by token id)."""
        cands = self.candidates(so_far)
        if cands is None:
            return None
        logits = {a: [float(row[t]) for t in ids] for a, ids in cands.items()}
        top = max(max(v) for v in logits.values())
        mass = {a: sum(math.exp(v - top) for v in vs) for a, vs in logits.items()}
        total = sum(mass.values())
        return {a: round(v / total, 4) for a, v in mass.items()}

    def probs(self, llm: Any, so_far: str) -> dict[str, float] | None:
        """P(action) from the logits llama.cpp holds right now: call it when the streamed
        piece that crosses the prefix arrives. llama-cpp-python yields each sampled token
        before it evaluates it, so the context's last logits are still the ones that token
        was sampled from (tests check this against a logits processor on the same prompts)."""
        import llama_cpp

        if self.candidates(so_far) is None:
            return None
        return self.probs_from(llama_cpp.llama_get_logits_ith(llm.ctx, -1), so_far)


def crosses_prefix(so_far: str, piece: str) -> bool:
    """True when `piece`, arriving after `so_far`, is the token that chose the action."""
    return len(so_far) <= len(ACTION_PREFIX) < len(so_far) + len(piece)
