"""The release side's model kit (operator machines, never devices): distil the rule policy
into a small llama GGUF and measure it.

Offers `write_dataset` (train/val/test JSONL, golden set, probes), `train_model` (JAX +
optax, imported only inside it: the `train` extra), `evaluate_model` / `EvalReport` /
`majority_baseline` (cases through the device's own inference path), `quantize_gguf`
(llama.cpp's quantizer), the teacher (`teacher_answer`, `RULES`), and field cases
(`field_case`, `write_field_dataset`: the fleet's retraining samples labelled by the teacher,
written as a dataset `train_model` takes).
"""

from edgetui.modelkit.dataset import read_jsonl, write_dataset
from edgetui.modelkit.evaluate import REPORT_KEYS, EvalReport, evaluate_model, majority_baseline
from edgetui.modelkit.field import field_case, write_field_dataset
from edgetui.modelkit.quantize import FTYPES, quantize_gguf
from edgetui.modelkit.teacher import RULES, answer_text, teacher_answer
from edgetui.modelkit.train import ARCHS, train_model

__all__ = [
    "ARCHS",
    "FTYPES",
    "REPORT_KEYS",
    "RULES",
    "EvalReport",
    "answer_text",
    "evaluate_model",
    "field_case",
    "majority_baseline",
    "quantize_gguf",
    "read_jsonl",
    "teacher_answer",
    "train_model",
    "write_dataset",
    "write_field_dataset",
]
