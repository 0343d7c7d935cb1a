"""The student's forward pass in JAX: exactly what llama.cpp computes for LLM_ARCH_LLAMA.

llama.cpp's llama graph (src/models/llama.cpp, ggml-cpu rope), reproduced term by term:
  x = token_embd[ids]                                   (no embedding scale)
  per layer:
    h = rms_norm(x, eps) * attn_norm                      rms_norm: x / sqrt(mean(x^2) + eps)
    q, k, v = h @ Wq^T, h @ Wk^T, h @ Wv^T                 split into heads as (n_head, head_dim)
    q, k = rope_norm(q), rope_norm(k)                      LLAMA_ROPE_TYPE_NORM: rotates the
        ADJACENT pairs (x[2i], x[2i+1]) by pos * base^(-2i/head_dim) (not NEOX's halves)
    a = softmax(q k^T / sqrt(head_dim) + causal) v
    x = x + a @ Wo^T
    h = rms_norm(x, eps) * ffn_norm
    x = x + (silu(h @ Wgate^T) * (h @ Wup^T)) @ Wdown^T
  logits = (rms_norm(x, eps) * output_norm) @ Wout^T     (Wout = token_embd when tied)
Weights are kept in GGUF's (rows, cols) = (out, in) layout, so export is a plain cast: no
q/k permutation is needed because the model is trained with llama.cpp's own rope layout
(HF checkpoints need convert_hf_to_gguf's permute only because HF uses the NEOX layout).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from edgetui.modelkit.config import ModelConfig
from edgetui.modelkit.export import tensor_names

Params = dict[str, jax.Array]


def init_params(cfg: ModelConfig, seed: int) -> dict[str, np.ndarray]:
    """Small-init weights (GPT-2 style: N(0, 0.02), residual projections scaled down)."""
    rng = np.random.default_rng(seed)
    e, f, v = cfg.n_embd, cfg.n_ff, cfg.n_vocab
    std, resid = 0.02, 0.02 / np.sqrt(2 * cfg.n_layer)
    shapes = {
        "token_embd.weight": ((v, e), std),
        "output_norm.weight": ((e,), None),
        "output.weight": ((v, e), std),
    }
    for i in range(cfg.n_layer):
        p = f"blk.{i}."
        shapes |= {
            p + "attn_norm.weight": ((e,), None),
            p + "attn_q.weight": ((e, e), std),
            p + "attn_k.weight": ((e, e), std),
            p + "attn_v.weight": ((e, e), std),
            p + "attn_output.weight": ((e, e), resid),
            p + "ffn_norm.weight": ((e,), None),
            p + "ffn_gate.weight": ((f, e), std),
            p + "ffn_up.weight": ((f, e), std),
            p + "ffn_down.weight": ((e, f), resid),
        }
    out = {}
    for name in tensor_names(cfg):
        shape, s = shapes[name]
        out[name] = (
            np.ones(shape, np.float32) if s is None else (rng.standard_normal(shape) * s)
        ).astype(np.float32)
    return out


def rms_norm(x: jax.Array, w: jax.Array, eps: float) -> jax.Array:
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope_tables(cfg: ModelConfig, n_pos: int) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin of pos * base^(-2i/head_dim), shape (n_pos, head_dim // 2), float32 as ggml."""
    d = cfg.head_dim
    inv = np.power(np.float32(cfg.rope_base), -np.arange(0, d, 2, dtype=np.float32) / d)
    ang = np.arange(n_pos, dtype=np.float32)[:, None] * inv[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def rope_norm(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x: (B, T, H, D); rotate adjacent pairs (x[..., 2i], x[..., 2i+1])."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = jnp.stack((x0 * c - x1 * s, x0 * s + x1 * c), axis=-1)
    return out.reshape(x.shape)


def forward(
    params: Params, ids: jax.Array, cfg: ModelConfig, positions: jax.Array | None = None
) -> jax.Array:
    """Logits (B, T, n_vocab) for token ids (B, T), causal; with `positions` (B, A) only the
    logits at those positions, (B, A, n_vocab) (training needs the answer positions only)."""
    b, t = ids.shape
    h_, d = cfg.n_head, cfg.head_dim
    cos, sin = rope_tables(cfg, t)
    mask = jnp.tril(jnp.ones((t, t), bool))
    x = params["token_embd.weight"][ids]
    for i in range(cfg.n_layer):
        p = f"blk.{i}."
        h = rms_norm(x, params[p + "attn_norm.weight"], cfg.rms_eps)
        q = (h @ params[p + "attn_q.weight"].T).reshape(b, t, h_, d)
        k = (h @ params[p + "attn_k.weight"].T).reshape(b, t, h_, d)
        v = (h @ params[p + "attn_v.weight"].T).reshape(b, t, h_, d)
        q, k = rope_norm(q, cos, sin), rope_norm(k, cos, sin)
        att = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.float32(np.sqrt(d))
        att = jnp.where(mask[None, None], att, -jnp.inf)
        att = jax.nn.softmax(att, axis=-1)
        a = jnp.einsum("bhqk,bkhd->bqhd", att, v).reshape(b, t, h_ * d)
        x = x + a @ params[p + "attn_output.weight"].T
        h = rms_norm(x, params[p + "ffn_norm.weight"], cfg.rms_eps)
        g = h @ params[p + "ffn_gate.weight"].T
        u = h @ params[p + "ffn_up.weight"].T
        x = x + (jax.nn.silu(g) * u) @ params[p + "ffn_down.weight"].T
    if positions is not None:
        x = jnp.take_along_axis(x, positions[..., None], axis=1)
    x = rms_norm(x, params["output_norm.weight"], cfg.rms_eps)
    w_out = params["token_embd.weight"] if cfg.tied else params["output.weight"]
    return x @ w_out.T
