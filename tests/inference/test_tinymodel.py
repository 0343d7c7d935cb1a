"""The generated tiny GGUF: deterministic, readable, and really run by llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import llama_cpp
import pytest

from edgetui.inference.model_file import gguf_metadata, sha256_file
from edgetui.inference.prompt import DECISION_GRAMMAR, DECISION_TOKEN_BUDGET, parse_decision
from edgetui.inference.tiny_model import make_tiny_model
from edgetui.models.decision import ACTIONS


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, tiny_sha256: str) -> None:
    a = make_tiny_model(tmp_path / "a.gguf", seed=0)
    b = make_tiny_model(tmp_path / "b.gguf", seed=1)
    assert sha256_file(a) == tiny_sha256
    assert sha256_file(b) != tiny_sha256
    assert 100_000 < a.stat().st_size < 1_000_000  # "a few hundred KB"


def test_metadata_says_llama_with_a_character_vocabulary(tiny_model: Path) -> None:
    meta = gguf_metadata(tiny_model)
    assert meta["general.architecture"] == "llama"
    assert meta["tokenizer.ggml.model"] == "llama"
    assert meta["general.name"] == "edgetui-tiny"
    assert meta["tensors"] == 21


@pytest.mark.native  # llama_cpp.Llama in this process
def test_llama_cpp_runs_it_under_the_decision_grammar(tiny_model: Path) -> None:
    llm = llama_cpp.Llama(model_path=str(tiny_model), n_ctx=1024, verbose=False)
    grammar = llama_cpp.LlamaGrammar.from_string(DECISION_GRAMMAR, verbose=False)
    seen = set()
    try:
        for i in range(12):
            out = llm.create_completion(
                f"Event: MOTION_DETECTED at door {i}\nDecision:",
                grammar=grammar,
                max_tokens=DECISION_TOKEN_BUDGET,
                temperature=0.9,
            )
            text = out["choices"][0]["text"]
            assert out["choices"][0]["finish_reason"] == "stop", text
            action, message = parse_decision(text)
            assert action in ACTIONS
            assert 1 <= len(message) <= 40
            assert json.loads(text)["action"] == action
            seen.add(action)
    finally:
        llm.close()
    assert seen  # at least one valid action; which ones is up to the random weights
