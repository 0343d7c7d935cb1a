"""A GGUF with `tokenizer.chat_template` gets the decision prompt through that template;
one without gets the plain prompt."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import pytest

from edgetui.inference.tiny_model import make_tiny_model
from edgetui.models.event import Event
from tests.inference.helpers import started_engine

TEMPLATE = (
    "<<user>> {{ messages[0]['content'] }} <<end>>"
    "{% if add_generation_prompt %} <<bot>> {% endif %}"
)
CONTEXT = {"time_of_day": "23:00 (night)", "hour": 23}


async def _decide(state_dir: Path, model: Path) -> tuple[object, str, int, dict]:
    engine = await started_engine(
        state_dir, model_path=str(model), temperature=0.0, timeout_s=120.0
    )
    try:
        ev = Event(type="MOTION_DETECTED", source="t", data={"location": "gate"})
        decision = await engine.decide(ev, CONTEXT)
        assert engine.stats.last is not None and engine.last_prompt is not None
        return decision, engine.last_prompt, engine.stats.last.prompt_tokens, engine.section()
    finally:
        await engine.stop()


@pytest.mark.native  # llama_cpp.Llama in this process
async def test_a_model_with_a_chat_template_gets_its_prompt_through_it(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "chat.gguf", chat_template=TEMPLATE)
    decision, prompt, n_tokens, section = await _decide(tmp_path / "s1", model)
    assert decision.source == "model" and section.prompt_format == "chat_template"
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=1024, verbose=False)
    try:
        assert llm.metadata["tokenizer.chat_template"] == TEMPLATE
        templated = f"<<user>> {prompt} <<end>> <<bot>> "
        assert n_tokens == len(llm.tokenize(templated.encode()))
        assert n_tokens != len(llm.tokenize(prompt.encode()))
    finally:
        llm.close()


@pytest.mark.native  # llama_cpp.Llama in this process
async def test_a_model_without_one_gets_the_plain_prompt(tmp_path: Path) -> None:
    model = make_tiny_model(tmp_path / "plain.gguf")
    decision, prompt, n_tokens, section = await _decide(tmp_path / "s2", model)
    assert decision.source == "model" and section.prompt_format == "plain"
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=1024, verbose=False)
    try:
        assert n_tokens == len(llm.tokenize(prompt.encode()))
    finally:
        llm.close()
