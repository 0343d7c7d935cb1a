"""A model's own prompt format: a GGUF carrying `tokenizer.chat_template` (any instruct model
a user deploys) gets the decision prompt as one user message through that template, rendered
by llama-cpp-python's Jinja2 chat formatter with the generation prompt appended; a model
without one (the shipped and tiny models) gets the plain prompt it was trained on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TEMPLATE_KEY = "tokenizer.chat_template"


def chat_formatter(llm: Any) -> Callable[[str], str] | None:
    """prompt -> templated prompt for `llm`, or None when its GGUF has no chat template."""
    template = (getattr(llm, "metadata", None) or {}).get(TEMPLATE_KEY)
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token_text(token_id: int) -> str:
        if token_id < 0:
            return ""
        return llm.detokenize([token_id], special=True).decode("utf-8", errors="ignore")

    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llm.token_eos()),
        bos_token=token_text(llm.token_bos()),
    )

    def render(prompt: str) -> str:
        return formatter(messages=[{"role": "user", "content": prompt}]).prompt

    return render
