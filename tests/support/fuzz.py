"""Shared Hypothesis settings and strategies for the fuzz tests (issue 12, item 8).

Bounded and reproducible by default, so CI stays fast and never flaky:
`EDGETUI_FUZZ_EXAMPLES` (default 150) examples per test, derandomized. For a longer,
random hunt: `EDGETUI_FUZZ_EXAMPLES=20000 EDGETUI_FUZZ_RANDOM=1 pytest tests/security`.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("EDGETUI_FUZZ_EXAMPLES", "150"))

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the machine is shared: a slow example is not a failure
    derandomize=not os.environ.get("EDGETUI_FUZZ_RANDOM"),
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any JSON value, nesting included.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with a few random byte-level edits: flip, insert, delete, duplicate a span."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        pos = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(min_value=1, max_value=255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(min_value=1, max_value=16))]
        elif op == "dup" and data:
            end = min(len(data), pos + draw(st.integers(min_value=1, max_value=32)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


@st.composite
def mutated_doc(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with fields replaced by random JSON, removed, or added."""
    out = dict(doc)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        op = draw(st.sampled_from(["replace", "remove", "add"]))
        if op == "add" or not out:
            out[draw(st.text(max_size=12))] = draw(json_values)
            continue
        key = draw(st.sampled_from(sorted(out)))
        if op == "replace":
            out[key] = draw(json_values)
        else:
            del out[key]
    return out


def one_line(message: str, limit: int = 400) -> None:
    """A refusal is one short line (hostile input is never echoed at length)."""
    assert "\n" not in message, message
    assert len(message) <= limit, f"{len(message)} chars: {message[:200]}..."
