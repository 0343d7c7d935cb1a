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
    """x: (B, T, H, D); rotate adjacent pairs (x[..., 2i], x[..., 2i+1]). cos/sin broadcast
    to (B, T, 1, D/2): (1, T, 1, D/2) for positions 0..T-1, (B, A, 1, D/2) for gathered ones."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = jnp.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), axis=-1)
    return out.reshape(x.shape)


def _gather(x: jax.Array, positions: jax.Array) -> jax.Array:
    """x (B, T, ...) at positions (B, A) -> (B, A, ...)."""
    idx = positions.reshape(positions.shape + (1,) * (x.ndim - 2))
    return jnp.take_along_axis(x, idx, axis=1)


def forward(
    params: Params, ids: jax.Array, cfg: ModelConfig, positions: jax.Array | None = None
) -> jax.Array:
    """Logits (B, T, n_vocab) for token ids (B, T), causal; with `positions` (B, A) only the
    logits at those positions, (B, A, n_vocab) (training needs the answer positions only).

    With `positions`, the last layer computes its queries, attention output and FFN at those
    A positions only (its keys and values still at every position): nothing after it reads
    the other rows, so the result is the same and the training step is ~20 % cheaper (A=24
    slots against T=48..256 tokens)."""
    b, t = ids.shape
    h_, d = cfg.n_head, cfg.head_dim
    cos_t, sin_t = rope_tables(cfg, t)
    cos, sin = cos_t[None, :, None, :], sin_t[None, :, None, :]
    x = params["token_embd.weight"][ids]
    for i in range(cfg.n_layer):
        p = f"blk.{i}."
        last = positions is not None and i == cfg.n_layer - 1
        h = rms_norm(x, params[p + "attn_norm.weight"], cfg.rms_eps)
        k = rope_norm((h @ params[p + "attn_k.weight"].T).reshape(b, t, h_, d), cos, sin)
        v = (h @ params[p + "attn_v.weight"].T).reshape(b, t, h_, d)
        if last:  # queries (and everything after) at the answer positions only
            assert positions is not None
            x, h = _gather(x, positions), _gather(h, positions)
            q_pos = positions
            q_cos = jnp.asarray(cos_t)[positions][:, :, None, :]
            q_sin = jnp.asarray(sin_t)[positions][:, :, None, :]
        else:
            q_pos = jnp.arange(t)[None]  # (1, T): every position
            q_cos, q_sin = cos, sin
        n_q = q_pos.shape[1]
        q = rope_norm((h @ params[p + "attn_q.weight"].T).reshape(b, n_q, h_, d), q_cos, q_sin)
        att = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.float32(np.sqrt(d))
        causal = jnp.arange(t)[None, None, :] <= q_pos[:, :, None]  # (B, Q, T)
        att = jnp.where(causal[:, None], att, -jnp.inf)
        att = jax.nn.softmax(att, axis=-1)
        a = jnp.einsum("bhqk,bkhd->bqhd", att, v).reshape(b, n_q, h_ * d)
        x = x + a @ params[p + "attn_output.weight"].T
        h = rms_norm(x, params[p + "ffn_norm.weight"], cfg.rms_eps)
        g = h @ params[p + "ffn_gate.weight"].T
        u = h @ params[p + "ffn_up.weight"].T
        x = x + (jax.nn.silu(g) * u) @ params[p + "ffn_down.weight"].T
    x = rms_norm(x, params["output_norm.weight"], cfg.rms_eps)
    w_out = params["token_embd.weight"] if cfg.tied else params["output.weight"]
    return x @ w_out.T
