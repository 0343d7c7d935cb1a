"""Field cases: decision inputs devices sent from the field (the fleet's retraining samples),
labelled by the teacher and written as a dataset `edgetui model train --data DIR` takes.

The label is the rule policy's (`teacher_answer`, i.e. `edgetui.models.decision.
fallback_decision` with the grammar-safe message): the ground truth the shipped model is
distilled from, so this is knowledge distillation on field inputs, the inputs the model met
when its drift or confidence alert fired. What the device decided (its model, or its rule
fallback) is kept beside the label under `field`, with `agrees`, for the operator; training
reads only `prompt` and `expected`.

Files written into DIR:
    train.jsonl, val.jsonl   the cases, split by a hash of the prompt (deterministic: the
                             same case lands in the same split on every run)
    retrain.json             what went in: counts per split, device, event type and rule,
                             duplicates dropped, disagreements with the device
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edgetui.durable import atomic_write
from edgetui.modelkit.cases import make_case
from edgetui.modelkit.dataset import write_jsonl
from edgetui.modelkit.teacher import period

VAL_FRACTION = 0.1
_BUCKETS = 10_000


def field_case(
    event_type: str, data: dict[str, Any], context: dict[str, Any], field: dict[str, Any]
) -> dict[str, Any]:
    """One field input as a labelled case (`make_case`'s keys) plus `field`: `field` as
    given (device, sample id, the device's decision...) and `agrees`: whether the device's
    action is the teacher's."""
    ctx = dict(context)
    hour = ctx.get("hour")
    if "time_of_day" not in ctx and isinstance(hour, int):
        ctx["time_of_day"] = f"{hour:02d}:00 ({period(hour)})"  # as agents.llm words it
    case = make_case(event_type, data, ctx)
    device_action = field.get("action")
    case["field"] = {
        **field,
        "agrees": None if device_action is None else device_action == case["expected"]["action"],
    }
    return case


def _bucket(case: dict[str, Any]) -> int:
    """A case's place in [0, _BUCKETS), from a hash of its prompt."""
    digest = hashlib.sha256(case["prompt"].encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS


def in_validation(case: dict[str, Any], fraction: float = VAL_FRACTION) -> bool:
    """The split, from a hash of the prompt: stable across runs and machines."""
    return _bucket(case) < fraction * _BUCKETS


def split_cases(
    cases: Iterable[dict[str, Any]], fraction: float = VAL_FRACTION
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """(train, val, duplicates): one case per prompt (the first given wins), split by
    `in_validation`. Both splits get at least one case (training needs a validation set):
    when the hash left one empty, the case whose hash is nearest the cut moves over, so
    the choice is still a function of the cases. ValueError when fewer than two distinct
    prompts are given."""
    unique: dict[str, dict[str, Any]] = {}
    duplicates = 0
    for case in cases:
        if case["prompt"] in unique:
            duplicates += 1
            continue
        unique[case["prompt"]] = case
    if len(unique) < 2:
        raise ValueError(
            f"{len(unique)} distinct case{'s' if len(unique) != 1 else ''}: a training set "
            "needs at least two (one for training, one for validation)"
        )
    train = [c for c in unique.values() if not in_validation(c, fraction)]
    val = [c for c in unique.values() if in_validation(c, fraction)]
    if not val:
        nearest = min(train, key=lambda c: (_bucket(c), c["prompt"]))
        train.remove(nearest)
        val.append(nearest)
    elif not train:
        nearest = max(val, key=lambda c: (_bucket(c), c["prompt"]))
        val.remove(nearest)
        train.append(nearest)
    return train, val, duplicates


def summarize(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per device, event type and rule, and how often the device disagreed."""
    fields = [c.get("field") or {} for c in cases]
    return {
        "cases": len(cases),
        "by_device": dict(sorted(Counter(str(f.get("device_id")) for f in fields).items())),
        "by_event_type": dict(sorted(Counter(c["event_type"] for c in cases).items())),
        "by_rule": dict(sorted(Counter(c["rule"] for c in cases).items())),
        "by_alert": dict(sorted(Counter(str(f.get("alert")) for f in fields).items())),
        "disagreements": sum(1 for f in fields if f.get("agrees") is False),
    }


def write_field_dataset(
    out: Path, cases: list[dict[str, Any]], *, fraction: float = VAL_FRACTION, **about: Any
) -> dict[str, Any]:
    """Write train.jsonl, val.jsonl and retrain.json into `out`; returns retrain.json's
    content (`about`: what the caller adds, e.g. the store and filters). ValueError when the
    cases cannot make a dataset (see `split_cases`)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError("the validation fraction must be between 0 and 1")
    train, val, duplicates = split_cases(cases, fraction)
    out = Path(out)
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "val.jsonl", val)
    report = {
        **about,
        "out": str(out),
        "train": len(train),
        "val": len(val),
        "duplicates": duplicates,
        **summarize(train + val),
    }
    atomic_write(out / "retrain.json", (json.dumps(report, indent=1) + "\n").encode())
    return report
