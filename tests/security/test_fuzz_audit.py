"""Hypothesis: random and mutated input to the audit reader gives only its documented
errors (AuditFormatError from parse_record, a failed VerifyReport from verify_log), never an
unhandled exception. The example counts are bounded so that CI stays quick."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgetui.audit import AuditFormatError, verify_log
from edgetui.audit.reader import parse_record, read_records
from edgetui.units import parse_since
from tests.security.helpers import lines, make_log

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_BASE = Path(tempfile.mkdtemp(prefix="edgetui-fuzz-audit-"))
atexit.register(shutil.rmtree, _BASE, ignore_errors=True)
_LOG, _KEY = make_log(_BASE, 4)
_ROWS = lines(_LOG.path)
_HEAD = _LOG.head_path.read_bytes()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(st.binary(max_size=400))
def test_parse_record_random_bytes(raw: bytes) -> None:
    try:
        rec = parse_record(raw, 1)
    except AuditFormatError as exc:
        assert exc.line == 1 and "\n" not in str(exc)
    else:
        assert isinstance(rec["seq"], int)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["v", "seq", "time", "who", "what", "result", "prev", "hash", "x"]),
        json_values,
        max_size=9,
    )
)
def test_parse_record_random_objects(obj: dict) -> None:
    import json

    try:
        parse_record(json.dumps(obj, default=str).encode(), 3)
    except AuditFormatError:
        pass


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, val in ops:
        if not buf:
            buf.append(val)
            continue
        pos %= len(buf)
        if kind == 0:
            buf[pos] = val
        elif kind == 1:
            del buf[pos]
        elif kind == 2:
            buf.insert(pos, val)
        else:
            del buf[pos:]
    return bytes(buf)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
    st.booleans(),
)
def test_verify_mutated_logs(ops: list[tuple[int, int, int]], mutate_head: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "audit.log"
        data = b"".join(_ROWS)
        if mutate_head:
            path.write_bytes(data)
            (Path(d) / "audit.log.head.json").write_bytes(_mutate(_HEAD, ops))
        else:
            mutated = _mutate(data, ops)
            path.write_bytes(mutated)
            (Path(d) / "audit.log.head.json").write_bytes(_HEAD)
        report = verify_log(path, _KEY.public)
        if report.ok:  # a mutation that changed nothing that matters (e.g. a no-op)
            assert report.records >= 1
        else:
            assert report.problem is not None and "\n" not in report.problem.message
            assert report.problem.kind in (
                "edited",
                "deleted",
                "reordered",
                "truncated",
                "unreadable",
                "bad_signature",
            )
        try:
            list(read_records(path))
        except AuditFormatError:
            pass


@FUZZ
@given(st.permutations(range(4)), st.integers(0, 4))
def test_verify_reordered_and_cut_logs(order: list[int], keep: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "audit.log"
        path.write_bytes(b"".join(_ROWS[i] for i in order[:keep]))
        (Path(d) / "audit.log.head.json").write_bytes(_HEAD)
        report = verify_log(path, _KEY.public)
        assert report.ok == (list(order[:keep]) == [0, 1, 2, 3])


@FUZZ
@given(st.text(max_size=40) | st.from_regex(r"\A[0-9]{1,30}(\.[0-9]{1,5})?[smhd]\Z"))
def test_parse_since_gives_value_error_only(text: str) -> None:
    try:
        parse_since(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
