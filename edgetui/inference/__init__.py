"""On-device inference: the llama.cpp engine that turns an event into a decision.

Offers `InferenceEngine` (the model runs in a supervised worker process, so a llama.cpp crash
costs the answers in flight, not the runtime; queued, timed, measured requests; the rule
policy when no usable model answers), the decision prompt and grammar
(`prompt`), golden prompts scored for accuracy against a pass bar (`load_golden`, `run_suite`,
`run_golden`), model-file checks
(`check_model`, `gguf_metadata`), `percentile`, and the generator of the tiny test model
(`tiny_model.make_tiny_model`, imported on demand: it needs numpy and gguf), and the shipped
decision model's files (`SHIPPED_MODEL`, `SHIPPED_REGRESSED_MODEL`, `SHIPPED_GOLDEN`).
"""

from edgetui.inference.engine import (
    InferenceBusy,
    InferenceCrashed,
    InferenceEngine,
    InferenceError,
    InferenceTimeout,
    InferenceUnavailable,
)
from edgetui.inference.golden import (
    GoldenResult,
    GoldenSuite,
    load_golden,
    run_golden,
    run_suite,
)
from edgetui.inference.model_file import ModelFileError, check_model, gguf_metadata
from edgetui.inference.prompt import (
    DECISION_GRAMMAR,
    DECISION_TOKEN_BUDGET,
    DecisionParseError,
    build_prompt,
    parse_decision,
)
from edgetui.inference.shipped import GOLDEN_PATH as SHIPPED_GOLDEN
from edgetui.inference.shipped import MODEL_PATH as SHIPPED_MODEL
from edgetui.inference.shipped import REGRESSED_PATH as SHIPPED_REGRESSED_MODEL
from edgetui.inference.shipped import SHIPPED_TEMPERATURE
from edgetui.inference.stats import percentile

__all__ = [
    "DECISION_GRAMMAR",
    "DECISION_TOKEN_BUDGET",
    "SHIPPED_GOLDEN",
    "SHIPPED_MODEL",
    "SHIPPED_REGRESSED_MODEL",
    "SHIPPED_TEMPERATURE",
    "DecisionParseError",
    "GoldenResult",
    "GoldenSuite",
    "InferenceBusy",
    "InferenceCrashed",
    "InferenceEngine",
    "InferenceError",
    "InferenceTimeout",
    "InferenceUnavailable",
    "ModelFileError",
    "build_prompt",
    "check_model",
    "gguf_metadata",
    "load_golden",
    "parse_decision",
    "percentile",
    "run_golden",
    "run_suite",
]
