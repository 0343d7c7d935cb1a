"""Issue 12 defects in the manifest parser: duplicate keys, deep nesting, long echoes."""

from __future__ import annotations

import json

import pytest

from edgetui.ota.errors import OtaError
from edgetui.ota.manifest import parse_manifest, verify_manifest
from tests.ota_release.conftest import Built


def test_duplicate_key_in_a_signed_manifest_is_refused(built: Built) -> None:
    raw = built.manifest_path.read_bytes()
    verify_manifest(parse_manifest(raw), [built.keys.pub])  # the genuine one passes
    # The signed value first, a second "version" after it: another reader could take either.
    doctored = raw.replace(b'"version":', b'"version": "9.9.9", "version":', 1)
    assert doctored != raw
    with pytest.raises(OtaError) as ei:
        parse_manifest(doctored)
    assert ei.value.code == "malformed_manifest"
    assert "duplicate key 'version'" in str(ei.value)


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_deep_nesting_is_a_malformed_manifest(data: bytes) -> None:
    with pytest.raises(OtaError) as ei:
        parse_manifest(data)
    assert ei.value.code == "malformed_manifest" and "nested deeper" in str(ei.value)


def test_a_long_version_is_not_echoed_whole(built: Built) -> None:
    doc = json.loads(built.manifest_path.read_bytes())
    doc["version"] = "x" * 10_000
    with pytest.raises(OtaError) as ei:
        parse_manifest(json.dumps(doc).encode())
    assert len(str(ei.value)) < 200 and "10000 chars" in str(ei.value)
