"""A tiny llama-architecture GGUF the project generates itself (random weights).

It exists so that the demo and the tests run the real llama.cpp path (load, tokenize,
grammar-constrained sampling, timing) without downloading a model. Its weights are random:
its decisions are arbitrary, but the decision grammar keeps them valid.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np

from edgetui.durable import finish_gguf

ARCH = "llama"
NAME = "edgetui-tiny"
N_EMBD = 64
N_HEAD = 4
N_LAYER = 2
N_FF = 128
N_CTX = 1024
SPACE = "\u2581"  # sentencepiece's visible space

# Whole-word pieces so a decision can be a handful of tokens; single characters and the
# 256 byte tokens still cover any text (SPM byte fallback).
WORDS = (
    '{"action":"',
    '","message":"',
    '"}',
    "SPEAK_WARNING",
    "NOTIFY",
    "IGNORE",
    "MOTION_DETECTED",
    "TEMPERATURE",
    "SOUND_LEVEL",
)


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """(tokens, scores, token types) of the character-level SPM vocabulary."""
    import gguf

    tokens = ["<unk>", "<s>", "</s>"]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(gguf.TokenType.BYTE)
    chars = [SPACE] + [c for c in string.printable if c.isprintable() and c != " "]
    for piece in chars + list(WORDS):
        tokens.append(piece)
        types.append(gguf.TokenType.NORMAL)
    # SPM merges by score: longer pieces first, so known words tokenize whole.
    scores = [0.0] * len(tokens)
    for i, piece in enumerate(tokens):
        if types[i] == gguf.TokenType.NORMAL:
            scores[i] = -1000.0 + float(len(piece))
    return tokens, scores, [int(t) for t in types]


def _weights(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float16)


def make_tiny_model(out: Path, *, seed: int = 0, chat_template: str | None = None) -> Path:
    """Write the tiny GGUF to `out` (atomically) and return its path; same seed, same bytes."""
    import gguf

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types = vocabulary()
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), ARCH)
    writer.add_name(NAME)
    writer.add_description("random weights: decisions are arbitrary but grammar-valid")
    writer.add_uint32("edgetui.tiny.seed", seed)
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if chat_template is not None:  # a stand-in for an instruct model's own prompt format
        writer.add_chat_template(chat_template)

    s = 1.0 / np.sqrt(N_EMBD)
    ones = np.ones(N_EMBD, dtype=np.float32)
    # numpy shape is (rows, cols) = ggml's ne reversed.
    writer.add_tensor("token_embd.weight", _weights(rng, (n_vocab, N_EMBD), 1.0))
    for i in range(N_LAYER):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", ones)
        writer.add_tensor(p + "attn_q.weight", _weights(rng, (N_EMBD, N_EMBD), s))
        writer.add_tensor(p + "attn_k.weight", _weights(rng, (N_EMBD, N_EMBD), s))
        writer.add_tensor(p + "attn_v.weight", _weights(rng, (N_EMBD, N_EMBD), s))
        writer.add_tensor(p + "attn_output.weight", _weights(rng, (N_EMBD, N_EMBD), s))
        writer.add_tensor(p + "ffn_norm.weight", ones)
        writer.add_tensor(p + "ffn_gate.weight", _weights(rng, (N_FF, N_EMBD), s))
        writer.add_tensor(p + "ffn_up.weight", _weights(rng, (N_FF, N_EMBD), s))
        writer.add_tensor(p + "ffn_down.weight", _weights(rng, (N_EMBD, N_FF), 1 / np.sqrt(N_FF)))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", _weights(rng, (n_vocab, N_EMBD), s))
    return finish_gguf(writer, tmp, out)
