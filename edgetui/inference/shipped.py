"""The decision model shipped with edgetui (package data under edgetui/data/models/).

`decision.gguf` is a 432k-parameter llama distilled from the rule policy
(`edgetui.models.decision.fallback_decision`); MODEL_CARD.md beside it says how it was
trained and what it scores. `decision-regressed.q4_0.gguf` is the same model fine-tuned on
wrong night-motion labels: the demo's `--regressed` release, whose golden accuracy falls
under the bar. `golden.json` is the golden set (30 cases, every rule) with its pass bar.
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "data" / "models"
MODEL_PATH = MODELS_DIR / "decision.gguf"
REGRESSED_PATH = MODELS_DIR / "decision-regressed.q4_0.gguf"
GOLDEN_PATH = MODELS_DIR / "golden.json"
# The shipped model is trained for greedy decoding: its confidence is defined for it.
SHIPPED_TEMPERATURE = 0.0
