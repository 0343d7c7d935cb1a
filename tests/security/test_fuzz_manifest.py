"""Fuzzing the manifest parser and verifier, and the slot record: random bytes, random JSON,
and mutations of a genuine signed manifest give a Manifest or an OtaError with a documented
code and a one-line reason; never another exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgetui.keys import generate_keypair, load_private_key
from edgetui.models.slot import PATH_KEYS, parse_slot_record
from edgetui.ota.errors import CODES, OtaError
from edgetui.ota.manifest import Manifest, check_applicable, parse_manifest, verify_manifest
from tests.support.fuzz import fuzz, json_values, mutated_bytes, mutated_doc, one_line


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    key, pub = generate_keypair(tmp_path_factory.mktemp("keys") / "release")
    m = Manifest(
        version="1.2.0",
        release_date="2026-01-01T00:00:00Z",
        changes="fuzz",
        target_devices=["all"],
        update_package_url="edgetui-1.2.0.tar.gz",
        checksum="sha256:" + "ab" * 32,
        rollback_version="1.1.0",
        size=1234,
        expires="2099-01-01T00:00:00Z",
        key_id="",
        signature="",
    )
    m.sign(load_private_key(key))
    return m.to_json(), pub


def _exercise(data: bytes, pub: Path) -> None:
    try:
        m = parse_manifest(data)
        verify_manifest(m, [pub], now=datetime(2030, 1, 1, tzinfo=UTC))
        check_applicable(m, installed_version="1.0.0", device_id="d", device_type="t")
    except OtaError as exc:
        assert exc.code in CODES
        one_line(str(exc))


@fuzz
@given(st.binary(max_size=400))
def test_random_bytes(genuine, data: bytes) -> None:
    _exercise(data, genuine[1])


@fuzz
@given(json_values)
def test_random_json(genuine, value) -> None:
    _exercise(json.dumps(value).encode(), genuine[1])


@fuzz
@given(st.data())
def test_mutated_genuine_bytes(genuine, data: st.DataObject) -> None:
    raw, pub = genuine
    _exercise(data.draw(mutated_bytes(raw)), pub)


@fuzz
@given(st.data())
def test_mutated_genuine_fields(genuine, data: st.DataObject) -> None:
    raw, pub = genuine
    doc = data.draw(mutated_doc(json.loads(raw)))
    _exercise(json.dumps(doc).encode(), pub)


def test_the_genuine_manifest_passes(genuine) -> None:
    raw, pub = genuine
    verify_manifest(parse_manifest(raw), [pub], now=datetime(2030, 1, 1, tzinfo=UTC))


SLOT = b'{"version": "1.2.0", "model": "model/tiny.gguf", "agents": "agents", "golden": null}'


@fuzz
@given(st.one_of(st.binary(max_size=200), mutated_bytes(SLOT), json_values.map(json.dumps)))
def test_slot_records(data) -> None:
    """slot.json: a record whose paths stay relative and inside, or a one-line ValueError."""
    try:
        record = parse_slot_record(data)
    except ValueError as exc:
        one_line(str(exc))
        return
    for key in PATH_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value:
            assert not value.startswith("/") and ".." not in value.split("/")
