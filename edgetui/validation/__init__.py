"""On-device validation, baselines and drift: the console's judgement of the model.

Offers `ValidationService` (the "validation" part: `edgetui validate` as the methods
`validate.run` and `validate.last`, the OTA before/after runs through `validate_slot`, and
per-version baselines added to the `inference` section through `inference_extras`),
`ValidationHooks` (what it asks of the other parts, handed in by the runtime),
`DriftService` and `DriftHooks` (the "drift" part: PSI of the llm agent's inputs and
outputs and its mean confidence against a reference), `RetrainSampler` (the drift part's
ring of recent decision inputs, queued for the fleet's retraining set when a drift or
confidence alert fires and `[retrain] share_inputs` is on), `ValidationDB`, and `build_validation`
/ `build_drift`, which the runtime calls with what it holds.
"""

from edgetui.validation.db import ValidationDB
from edgetui.validation.drift import DriftHooks, DriftService
from edgetui.validation.retrain import RetrainSampler
from edgetui.validation.service import ValidationHooks, ValidationService, model_version
from edgetui.validation.wiring import build_drift, build_validation

__all__ = [
    "DriftHooks",
    "DriftService",
    "RetrainSampler",
    "ValidationDB",
    "ValidationHooks",
    "ValidationService",
    "build_drift",
    "build_validation",
    "model_version",
]
