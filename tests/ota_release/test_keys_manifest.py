"""Keys, manifest parsing, signature/expiry/revocation checks and applicability."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from edgetui.keys import generate_keypair, key_id, load_private_key, load_public_key
from edgetui.models.clock import parse_rfc3339 as parse_time
from edgetui.ota.errors import OtaError
from edgetui.ota.manifest import (
    check_applicable,
    compare_versions,
    parse_manifest,
    verify_manifest,
)

from .conftest import Built, Keys


def test_keygen_modes_and_key_id(tmp_path: Path) -> None:
    key, pub = generate_keypair(tmp_path / "k" / "rel")
    assert key.name == "rel.key" and pub.name == "rel.pub"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes() and b"PUBLIC KEY" in pub.read_bytes()
    kid = key_id(load_public_key(pub))
    assert len(kid) == 16 and int(kid, 16) >= 0
    assert kid == key_id(load_private_key(key))


def test_keygen_refuses_to_overwrite(keys: Keys) -> None:
    before = keys.key.read_bytes()
    with pytest.raises(FileExistsError):
        generate_keypair(keys.key.with_suffix(""))
    assert keys.key.read_bytes() == before


def test_raw_keys_load(tmp_path: Path, keys: Keys) -> None:
    priv = load_private_key(keys.key)
    raw_pub = tmp_path / "raw.pub"
    raw_pub.write_bytes(
        priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert key_id(load_public_key(raw_pub)) == key_id(priv)
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key")
    with pytest.raises(ValueError):
        load_public_key(junk)


def test_both_halves_load_raw_or_pem_and_refuse_the_other_half(tmp_path: Path, keys: Keys) -> None:
    priv = load_private_key(keys.key)
    raw_key = tmp_path / "raw.key"
    raw_key.write_bytes(
        priv.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )
    assert key_id(load_private_key(raw_key)) == key_id(priv)
    assert key_id(load_public_key(keys.pub)) == key_id(priv)
    with pytest.raises(ValueError, match="private key"):
        load_private_key(keys.pub)  # a public PEM is not a private key
    with pytest.raises(ValueError, match="public key"):
        load_public_key(keys.key)  # nor the other way round
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    with pytest.raises(ValueError, match=r"junk\.key: not an unencrypted PEM"):
        load_private_key(junk)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.10.0", "1.9.0", 1),
        ("1.9.0", "1.10.0", -1),
        ("1.0.2", "1.0.2", 0),
        ("v1.0.2", "1.0.2", 0),
        ("1.0", "1.0.0", 0),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("1.0.0-rc.2", "1.0.0-rc.10", -1),
        ("1.0.0-alpha", "1.0.0-1", 1),
        ("2.0.0+build.5", "2.0.0", 0),
    ],
)
def test_compare_versions(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected


def test_compare_versions_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        compare_versions("latest", "1.0.0")


def _doc(built: Built) -> dict:
    return json.loads(built.manifest_path.read_bytes())


def _reencode(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def test_parse_roundtrip_and_layout_independence(built: Built) -> None:
    doc = _doc(built)
    m = parse_manifest(_reencode(doc))  # different whitespace/key order than the file
    assert m.version == "1.2.0" and m.rollback_version == "1.1.0"
    assert m.target_devices == ["all"] and m.size == built.package.stat().st_size
    verify_manifest(m, [built.keys.pub], [])


@pytest.mark.parametrize(
    "data",
    [b"", b"{not json", b"[1, 2]", b"\xff\xfe", b'"a string"'],
    ids=["empty", "broken", "list", "binary", "string"],
)
def test_malformed_manifest(data: bytes) -> None:
    with pytest.raises(OtaError) as ei:
        parse_manifest(data)
    assert ei.value.code == "malformed_manifest"
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("field", ["version", "checksum", "size", "signature", "expires"])
def test_missing_field(built: Built, field: str) -> None:
    doc = _doc(built)
    del doc[field]
    with pytest.raises(OtaError) as ei:
        parse_manifest(_reencode(doc))
    assert ei.value.code == "malformed_manifest"
    assert field in str(ei.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size", -1),
        ("size", "100"),
        ("size", True),
        ("checksum", "md5:abc"),
        ("checksum", "sha256:XYZ"),
        ("version", "latest"),
        ("rollback_version", 3),
        ("target_devices", []),
        ("target_devices", "all"),
        ("expires", "next tuesday"),
        ("release_date", "2026-04-28T10:00:00"),
        ("update_package_url", ""),
    ],
)
def test_wrong_field_types(built: Built, field: str, value: object) -> None:
    doc = _doc(built)
    doc[field] = value
    with pytest.raises(OtaError) as ei:
        parse_manifest(_reencode(doc))
    assert ei.value.code == "malformed_manifest"
    assert field in str(ei.value)


def test_oversized_manifest_is_malformed() -> None:
    with pytest.raises(OtaError) as ei:
        parse_manifest(b" " * (2 << 20))
    assert ei.value.code == "malformed_manifest"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "9.9.9"),
        ("checksum", "sha256:" + "0" * 64),
        ("size", 1),
        ("target_devices", ["all", "evil"]),
        ("expires", "2099-01-01T00:00:00Z"),
        ("update_package_url", "https://evil.example/x.tar.gz"),
        ("added_field", "unsigned"),
    ],
)
def test_tampered_manifest(built: Built, field: str, value: object) -> None:
    doc = _doc(built)
    doc[field] = value
    m = parse_manifest(_reencode(doc))
    with pytest.raises(OtaError) as ei:
        verify_manifest(m, [built.keys.pub], [])
    assert ei.value.code == "bad_signature"


def test_garbage_signature(built: Built) -> None:
    doc = _doc(built)
    doc["signature"] = "!!!not base64!!!"
    with pytest.raises(OtaError) as ei:
        verify_manifest(parse_manifest(_reencode(doc)), [built.keys.pub], [])
    assert ei.value.code == "bad_signature"


def test_unknown_key(built: Built, other_keys: Keys) -> None:
    with pytest.raises(OtaError) as ei:
        verify_manifest(built.manifest, [other_keys.pub], [])
    assert ei.value.code == "unknown_key"
    assert built.manifest.key_id in str(ei.value)


def test_no_trusted_keys(built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        verify_manifest(built.manifest, [], [])
    assert ei.value.code == "unknown_key"


def test_key_with_same_id_but_other_key_cannot_sign(built: Built, other_keys: Keys) -> None:
    # An attacker copies the trusted key id into a manifest signed with their own key.
    m = parse_manifest(built.manifest_path.read_bytes())
    m.sign(load_private_key(other_keys.key))
    m.key_id = built.manifest.key_id
    with pytest.raises(OtaError) as ei:
        verify_manifest(m, [built.keys.pub], [])
    assert ei.value.code == "bad_signature"


def test_rotation_several_trusted_keys(built: Built, other_keys: Keys, tmp_path: Path) -> None:
    missing = tmp_path / "gone.pub"
    verify_manifest(built.manifest, [missing, other_keys.pub, built.keys.pub], [])


def test_revoked_by_key_id(built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        verify_manifest(built.manifest, [built.keys.pub], [built.manifest.key_id])
    assert ei.value.code == "revoked_key"


def test_revoked_by_pub_path(built: Built, other_keys: Keys) -> None:
    with pytest.raises(OtaError) as ei:
        verify_manifest(built.manifest, [other_keys.pub, built.keys.pub], [str(built.keys.pub)])
    assert ei.value.code == "revoked_key"
    # Revoking another key leaves this one usable.
    verify_manifest(built.manifest, [built.keys.pub], [str(other_keys.pub)])


def test_unreadable_revocation_fails_closed(built: Built, tmp_path: Path) -> None:
    with pytest.raises(OtaError) as ei:
        verify_manifest(built.manifest, [built.keys.pub], [str(tmp_path / "lost.pub")])
    assert ei.value.code == "revoked_key"


def test_expired_manifest(built: Built) -> None:
    later = parse_time(built.manifest.expires) + timedelta(seconds=1)
    with pytest.raises(OtaError) as ei:
        verify_manifest(built.manifest, [built.keys.pub], [], now=later)
    assert ei.value.code == "expired"
    verify_manifest(built.manifest, [built.keys.pub], [], now=later - timedelta(seconds=2))


def test_really_expired_bundle(tmp_path: Path, source: Path, keys: Keys) -> None:
    from edgetui.ota.bundle import build_bundle

    m = build_bundle(source, "1.0.0", keys.key, tmp_path / "o", expires_days=1e-9)
    assert parse_time(m.expires) <= datetime.now(UTC)
    with pytest.raises(OtaError) as ei:
        verify_manifest(m, [keys.pub], [])
    assert ei.value.code == "expired"


def _applicable(built: Built, **kw) -> None:
    args = {"installed_version": "1.1.0", "device_id": "dev-7", "device_type": "gateway"}
    args.update(kw)
    check_applicable(built.manifest, **args)


def test_applicable_newer(built: Built) -> None:
    _applicable(built)
    _applicable(built, installed_version="1.1.9")
    _applicable(built, installed_version=None)


@pytest.mark.parametrize("installed", ["1.2.0", "1.10.0", "2.0.0"])
def test_downgrade_refused(built: Built, installed: str) -> None:
    with pytest.raises(OtaError) as ei:
        _applicable(built, installed_version=installed)
    assert ei.value.code == "downgrade"
    _applicable(built, installed_version=installed, allow_downgrade=True)


def test_unparsable_installed_version_refused(built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        _applicable(built, installed_version="dev-build")
    assert ei.value.code == "downgrade"


def _targeted(built: Built, targets: list[str]) -> Built:
    built.manifest.target_devices = targets
    return built


def test_target_other_device_type(built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        _applicable(_targeted(built, ["camera"]))
    assert ei.value.code == "wrong_target"
    assert "gateway" in str(ei.value)


def test_target_other_device_id(built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        _applicable(_targeted(built, ["dev-8"]))
    assert ei.value.code == "wrong_target"


@pytest.mark.parametrize("targets", [["all"], ["gateway"], ["dev-7"], ["camera", "dev-7"]])
def test_target_matches(built: Built, targets: list[str]) -> None:
    _applicable(_targeted(built, targets))
