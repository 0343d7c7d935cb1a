"""The training forward pass: asking for the answer positions only (the last layer then runs
its queries and FFN at those rows only) gives the same logits as the full pass."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("jax")

from edgetui.modelkit.config import ModelConfig
from edgetui.modelkit.model import forward, init_params


@pytest.mark.parametrize("n_layer", [1, 3])
def test_forward_at_positions_equals_the_full_pass_gathered(n_layer: int) -> None:
    cfg = ModelConfig(n_vocab=50, n_embd=32, n_head=2, n_layer=n_layer, n_ff=64, tied=False)
    rng = np.random.default_rng(0)
    # perturbed init: the norms' weights away from 1 so every term matters
    params = {
        k: v + rng.standard_normal(v.shape).astype(np.float32) * 0.1
        for k, v in init_params(cfg, 0).items()
    }
    ids = rng.integers(0, cfg.n_vocab, (3, 20)).astype(np.int32)
    positions = rng.integers(0, 20, (3, 5)).astype(np.int32)
    full = np.asarray(forward(params, ids, cfg))
    assert full.shape == (3, 20, cfg.n_vocab)
    part = np.asarray(forward(params, ids, cfg, positions))
    want = np.take_along_axis(full, positions[..., None], axis=1)
    np.testing.assert_allclose(part, want, atol=1e-4, rtol=1e-4)
