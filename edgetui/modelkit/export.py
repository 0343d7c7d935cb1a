"""Write the student as a llama GGUF (the layout of edgetui.tinymodel, plus a vocabulary with
USER_DEFINED whole pieces and add_space_prefix = false)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgetui.durable import finish_gguf
from edgetui.modelkit.config import ModelConfig
from edgetui.modelkit.vocab import BOS, EOS, UNK, Vocab

ARCH = "llama"
NAME = "edgetui-distilled"


def tensor_names(cfg: ModelConfig) -> list[str]:
    """GGUF tensor names in write order; params use the same names."""
    names = ["token_embd.weight"]
    for i in range(cfg.n_layer):
        p = f"blk.{i}."
        names += [
            p + "attn_norm.weight",
            p + "attn_q.weight",
            p + "attn_k.weight",
            p + "attn_v.weight",
            p + "attn_output.weight",
            p + "ffn_norm.weight",
            p + "ffn_gate.weight",
            p + "ffn_up.weight",
            p + "ffn_down.weight",
        ]
    names.append("output_norm.weight")
    if not cfg.tied:
        names.append("output.weight")
    return names


def write_gguf(
    out: Path,
    cfg: ModelConfig,
    vocab: Vocab,
    params: dict[str, np.ndarray],
    *,
    description: str = "edgetui rule policy distilled into a tiny llama",
    metadata: dict | None = None,
) -> Path:
    """Write `params` (numpy arrays, (rows, cols) = (out, in)) as an f16 GGUF, atomically.

    Matrices are stored as f16, norm vectors as f32 (as llama.cpp's converters do)."""
    import gguf

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    w = gguf.GGUFWriter(str(tmp), ARCH)
    w.add_name(NAME)
    w.add_description(description)
    if metadata:
        w.add_string("edgetui.distill.metadata", json.dumps(metadata, sort_keys=True))
    w.add_context_length(cfg.n_ctx)
    w.add_embedding_length(cfg.n_embd)
    w.add_block_count(cfg.n_layer)
    w.add_feed_forward_length(cfg.n_ff)
    w.add_head_count(cfg.n_head)
    w.add_head_count_kv(cfg.n_head)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_layer_norm_rms_eps(cfg.rms_eps)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_vocab_size(vocab.size)
    w.add_tokenizer_model("llama")
    w.add_token_list(vocab.tokens)
    w.add_token_scores(vocab.scores)
    w.add_token_types(vocab.types)
    w.add_unk_token_id(UNK)
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    for name in tensor_names(cfg):
        arr = np.asarray(params[name], dtype=np.float32)
        w.add_tensor(name, arr if arr.ndim == 1 else arr.astype(np.float16))
    return finish_gguf(w, tmp, out)


def random_params(cfg: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights in the export layout (for tokenizer / runtime smoke tests)."""
    rng = np.random.default_rng(seed)
    e, f, v = cfg.n_embd, cfg.n_ff, cfg.n_vocab
    shapes = {"token_embd.weight": (v, e), "output_norm.weight": (e,), "output.weight": (v, e)}
    for i in range(cfg.n_layer):
        p = f"blk.{i}."
        shapes.update(
            {
                p + "attn_norm.weight": (e,),
                p + "attn_q.weight": (e, e),
                p + "attn_k.weight": (e, e),
                p + "attn_v.weight": (e, e),
                p + "attn_output.weight": (e, e),
                p + "ffn_norm.weight": (e,),
                p + "ffn_gate.weight": (f, e),
                p + "ffn_up.weight": (f, e),
                p + "ffn_down.weight": (e, f),
            }
        )
    out = {}
    for k, s in shapes.items():
        out[k] = np.ones(s, np.float32) if len(s) == 1 else rng.standard_normal(s) / np.sqrt(s[1])
    return out
