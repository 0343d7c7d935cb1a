"""Model hyper-parameters shared by training, export and the JAX forward pass."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ModelConfig:
    """A llama-architecture decoder. Every matrix row length (n_embd, n_ff) is a multiple of
    32 so llama.cpp's q8_0 / q4_0 blocks (32 values) fit every tensor."""

    n_vocab: int
    n_embd: int = 128
    n_head: int = 4
    n_layer: int = 2
    n_ff: int = 256
    n_ctx: int = 1024  # declared (edgetui's n_ctx); trained on sequences <= 256 tokens
    rope_base: float = 10000.0
    rms_eps: float = 1e-5
    tied: bool = True  # no output.weight: llama.cpp then uses token_embd as the output

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)
