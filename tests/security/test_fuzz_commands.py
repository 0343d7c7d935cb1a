"""Hypothesis: random and mutated documents give only CommandRefused, never another error."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgetui.keys import key_id
from edgetui.remote import CommandRefused, sign_command, verify_command
from edgetui.remote.commands import REASONS, Verifier

KEY = Ed25519PrivateKey.generate()
V = Verifier({key_id(KEY): KEY.public_key()}, set(), "cam-042", "camera")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GOOD = sign_command(KEY, "buffer.flush", targets=["cam-042"], params={"timeout": 3}, now=NOW)
GOOD_BYTES = json.dumps(GOOD).encode()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def check(data: bytes) -> None:
    try:
        verify_command(data, V, now=NOW)
    except CommandRefused as exc:
        assert exc.code in REASONS
        assert "\n" not in str(exc) and len(str(exc)) < 600


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.sampled_from(sorted(GOOD)), json_values)
def test_one_field_replaced(field: str, value: object) -> None:
    doc = dict(GOOD, **{field: value})
    check(json.dumps(doc).encode())


@FUZZ
@given(st.integers(min_value=0, max_value=len(GOOD_BYTES) - 1), st.integers(0, 255))
def test_one_byte_flipped(pos: int, byte: int) -> None:
    data = bytearray(GOOD_BYTES)
    data[pos] = byte
    check(bytes(data))


@FUZZ
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=10))
def test_random_objects(obj: dict) -> None:
    check(json.dumps(obj).encode())


def test_the_unmutated_document_passes() -> None:
    assert verify_command(GOOD_BYTES, V, now=NOW).command == "buffer.flush"


@FUZZ
@given(st.binary(max_size=120), st.binary(max_size=40))
def test_sealed_payloads_that_do_not_open_give_seal_error_only(blob: bytes, aad: bytes) -> None:
    import tempfile
    from pathlib import Path

    from edgetui.sealing import DataKeyring, OutboxCipher, SealError

    global _CIPHER
    if _CIPHER is None:
        _CIPHER = OutboxCipher(DataKeyring.create(Path(tempfile.mkdtemp()) / "k.key"))
    sealed = _CIPHER.seal(b'{"a":1}', b"aad")
    for candidate in (blob, sealed[:10] + blob, sealed[: len(blob) % len(sealed)]):
        try:
            _CIPHER.open(candidate, aad)
        except SealError as exc:
            assert "\n" not in str(exc)


_CIPHER = None
