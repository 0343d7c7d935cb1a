"""`edgetui model dataset`: train/val/test JSONL, the golden set and the probes.

Files written into DIR:
    train.jsonl, val.jsonl, test.jsonl   random cases, disjoint by prompt text
    train_twins.jsonl                    contrastive twins of the train MOTION cases
    train_randloc.jsonl                  cases at made-up location names (teaches copying)
    golden.jsonl                         hand-written cases, one or more per rule and edge
    golden.json                          the same in the golden-prompt format, with its bar
    ambiguous.jsonl / clear.jsonl        probes for the confidence
    ood.jsonl                            locations never seen in training
No val, test, golden, probe or OOD prompt appears in any training file (checked on write).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edgetui.modelkit.cases import (
    _VISITOR_RE,
    CHAR_LOCATIONS,
    OOD_LOCATIONS,
    ROLES,
    WORD_LOCATIONS,
    Generator,
    make_case,
    random_name_cases,
)
from edgetui.modelkit.probes import ambiguous_cases, clear_cases, golden_cases

GOLDEN_BAR = "28/30"


def generate_splits(
    seed: int, n_train: int, n_val: int, n_test: int, exclude: Iterable[str] = ()
) -> dict[str, list[dict[str, Any]]]:
    """Unique-by-prompt random cases split into train/val/test (prompts in `exclude` - the
    golden and probe prompts - never appear)."""
    gen = Generator(seed, (*WORD_LOCATIONS, *CHAR_LOCATIONS))
    seen = set(exclude)
    cases: list[dict[str, Any]] = []
    total = n_train + n_val + n_test
    attempts = 0
    while len(cases) < total:
        attempts += 1
        if attempts > total * 20:
            raise RuntimeError("could not draw enough distinct prompts")
        case = gen.case()
        if case["prompt"] in seen:
            continue
        seen.add(case["prompt"])
        cases.append(case)
    test, val = cases[:n_test], cases[n_test : n_test + n_val]
    return {"train": cases[n_test + n_val :], "val": val, "test": test}


def ood_cases(seed: int, n: int) -> list[dict[str, Any]]:
    """Random cases at locations never seen in training."""
    gen = Generator(seed + 1000, OOD_LOCATIONS)
    out, seen = [], set()
    while len(out) < n:
        case = gen.case()
        where = case["data"].get("location")
        if where not in OOD_LOCATIONS or case["prompt"] in seen:
            continue
        seen.add(case["prompt"])
        out.append(case)
    return out


def visitor_twins(
    cases: list[dict[str, Any]], seed: int, exclude: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Contrastive twins of the MOTION cases: the same prompt with the visitor list changed so
    that "is a visitor expected HERE" flips (a visitor moved here, or moved away), relabelled
    by the teacher. The visitor rule is the one a small model learns slowest from independent
    random cases; pairs that differ only there give it the signal directly."""
    rng = random.Random(seed)
    locations = (*WORD_LOCATIONS, *CHAR_LOCATIONS)
    seen = set(exclude) | {c["prompt"] for c in cases}
    out = []
    for case in cases:
        where = case["data"].get("location")
        if case["event_type"] != "MOTION_DETECTED" or not isinstance(where, str):
            continue
        visitors = list(case["context"]["expected_visitors"])
        parsed = [_VISITOR_RE.match(v) for v in visitors]
        here = [i for i, m in enumerate(parsed) if m and m.group(2) == where]
        if here:  # move every visitor that is here elsewhere
            for i in here:
                m = parsed[i]
                other = rng.choice([x for x in locations if x != where])
                visitors[i] = f"{m.group(1)} at {other}{m.group(3)}"
        elif visitors and parsed[0]:  # move one visitor here
            i = rng.randrange(len(visitors))
            if parsed[i]:
                m = parsed[i]
                visitors[i] = f"{m.group(1)} at {where}{m.group(3)}"
        else:  # no visitors: add one here
            visitors = [f"{rng.choice(ROLES)} at {where}"]
        context = {**case["context"], "expected_visitors": visitors}
        twin = make_case(case["event_type"], case["data"], context)
        if twin["prompt"] in seen:
            continue
        seen.add(twin["prompt"])
        out.append(twin)
    return out


def write_jsonl(path: Path, cases: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, keys sorted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for case in cases:
            fh.write(json.dumps(case, sort_keys=True) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The cases of a JSONL file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def health_format(cases: list[dict[str, Any]], bar: str = GOLDEN_BAR) -> dict[str, Any]:
    """The golden-prompt format (`edgetui.inference.load_golden`): each case's `expected`
    action, and the pass bar."""
    return {
        "pass_bar": bar,
        "cases": [
            {
                "event": {"type": c["event_type"], "data": c["data"]},
                "expected": c["expected"]["action"],
                "context": c["context"],
            }
            for c in cases
        ],
    }


def write_all(
    out: Path,
    seed: int,
    n_train: int,
    n_val: int,
    n_test: int,
    *,
    n_ood: int = 300,
    n_randloc: int = 8000,
) -> dict[str, int]:
    """Write every file; returns the number of cases per file."""
    golden, amb, clear = golden_cases(), ambiguous_cases(), clear_cases()
    ood = ood_cases(seed, n_ood)
    exclude = {c["prompt"] for c in (*golden, *amb, *clear, *ood)}
    splits = generate_splits(seed, n_train, n_val, n_test, exclude)
    files = {**splits, "golden": golden, "ambiguous": amb, "clear": clear, "ood": ood}
    for name, cases in files.items():
        write_jsonl(out / f"{name}.jsonl", cases)
    (out / "golden.json").write_text(json.dumps(health_format(golden), indent=1) + "\n")
    held_out = {c["prompt"] for name, cs in files.items() if name != "train" for c in cs}
    twins = visitor_twins(splits["train"], seed + 1, held_out)
    write_jsonl(out / "train_twins.jsonl", twins)
    files["train_twins"] = twins
    randloc = random_name_cases(seed + 2, n_randloc, held_out)
    write_jsonl(out / "train_randloc.jsonl", randloc)
    files["train_randloc"] = randloc
    train_prompts = {c["prompt"] for c in (*splits["train"], *twins, *randloc)}
    ood_names = set(OOD_LOCATIONS)
    assert not any(c["data"].get("location") in ood_names for c in randloc)
    for name in ("val", "test", "golden", "ambiguous", "clear", "ood"):
        if train_prompts & {c["prompt"] for c in files[name]}:
            raise RuntimeError(f"{name} cases leaked into training")
    return {name: len(cases) for name, cases in files.items()}


def write_dataset(out: Path, n: int = 20000, seed: int = 0) -> dict[str, int]:
    """`edgetui model dataset`: `n` training cases, n/20 validation, n/10 test (at least 20
    each), plus the twins, made-up-location cases (n/2.5), golden set and probes."""
    return write_all(
        out,
        seed,
        n,
        max(20, n // 20),
        max(20, n // 10),
        n_ood=max(20, min(300, n // 60)),
        n_randloc=max(20, int(n * 0.4)),
    )
