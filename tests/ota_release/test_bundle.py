"""bundle build / verify / inspect round trips and tampered packages."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from edgetui.models.slot import SlotContent
from edgetui.ota.bundle import build_bundle, inspect_bundle, verify_bundle
from edgetui.ota.errors import OtaError
from edgetui.ota.extract import safe_extract

from .conftest import Built, Keys, make_source


def test_build_writes_package_and_signed_manifest(built: Built) -> None:
    m = built.manifest
    assert built.package.name == "edgetui-1.2.0.tar.gz"
    assert m.update_package_url == "edgetui-1.2.0.tar.gz"
    data = built.package.read_bytes()
    assert m.size == len(data)
    assert m.checksum == "sha256:" + hashlib.sha256(data).hexdigest()
    doc = json.loads(built.manifest_path.read_text())
    for field in (
        "version",
        "release_date",
        "changes",
        "target_devices",
        "update_package_url",
        "checksum",
        "rollback_version",
        "size",
        "expires",
        "key_id",
        "signature",
    ):
        assert field in doc
    assert verify_bundle(built.manifest_path, None, [built.keys.pub]).version == "1.2.0"


def test_build_is_deterministic(tmp_path: Path, source: Path, keys: Keys) -> None:
    a = build_bundle(source, "1.0.0", keys.key, tmp_path / "a")
    os.utime(source / "golden.json", (1, 1))  # mtimes must not leak into the bundle
    b = build_bundle(source, "1.0.0", keys.key, tmp_path / "b")
    assert a.checksum == b.checksum


def test_slot_record_inside_package(built: Built, source: Path, tmp_path: Path) -> None:
    slot = tmp_path / "slot"
    safe_extract(built.package, slot, max_bytes=10 << 20, max_files=100)
    content = SlotContent.load(slot)
    assert content.version == "1.2.0"
    assert content.model == slot / "model" / "tiny.gguf"
    assert content.model_sha256 == hashlib.sha256(content.model.read_bytes()).hexdigest()
    assert content.agents_dir == slot / "agents"
    assert content.golden == slot / "golden.json"
    assert (slot / "agents.toml").read_text() == (source / "agents.toml").read_text()


def test_slot_record_without_model_agents_golden(tmp_path: Path, keys: Keys) -> None:
    src = tmp_path / "bare"
    src.mkdir()
    (src / "README").write_text("config only")
    (src / "slot.json").write_text('{"version": "stale"}')  # replaced by the builder
    m = build_bundle(src, "0.1.0", keys.key, tmp_path / "o")
    info = inspect_bundle(tmp_path / "o" / m.update_package_url)
    assert info["slot"] == {
        "version": "0.1.0",
        "model": None,
        "model_sha256": None,
        "agents": None,
        "golden": None,
    }
    assert [x["name"] for x in info["members"]].count("slot.json") == 1


def test_build_options(tmp_path: Path, source: Path, keys: Keys) -> None:
    m = build_bundle(
        source,
        "2.0.0",
        keys.key,
        tmp_path / "o",
        rollback_version="1.9.0",
        targets=["gateway", "dev-7"],
        expires_days=2,
        changes="faster agent",
        url_base="https://ota.example/updates/",
    )
    assert m.update_package_url == "https://ota.example/updates/edgetui-2.0.0.tar.gz"
    assert m.target_devices == ["gateway", "dev-7"]
    assert m.rollback_version == "1.9.0" and m.changes == "faster agent"
    # The package is found next to the manifest even when published under a URL.
    verify_bundle(tmp_path / "o" / "manifest.json", None, [keys.pub])


def test_build_refuses_symlinks(tmp_path: Path, source: Path, keys: Keys) -> None:
    (source / "link").symlink_to("/etc/passwd")
    with pytest.raises(ValueError, match="symlink"):
        build_bundle(source, "1.0.0", keys.key, tmp_path / "o")


def test_tampered_package(built: Built) -> None:
    data = bytearray(built.package.read_bytes())
    data[len(data) // 2] ^= 0xFF
    built.package.write_bytes(bytes(data))
    with pytest.raises(OtaError) as ei:
        verify_bundle(built.manifest_path, None, [built.keys.pub])
    assert ei.value.code == "checksum_mismatch"


def test_truncated_package(built: Built) -> None:
    built.package.write_bytes(built.package.read_bytes()[:-10])
    with pytest.raises(OtaError) as ei:
        verify_bundle(built.manifest_path, None, [built.keys.pub])
    assert ei.value.code == "size_mismatch"


def test_package_larger_than_size(built: Built) -> None:
    with open(built.package, "ab") as f:
        f.write(b"\0" * 10)
    with pytest.raises(OtaError) as ei:
        verify_bundle(built.manifest_path, None, [built.keys.pub])
    assert ei.value.code == "too_large"


def test_verify_other_package_path(built: Built, tmp_path: Path, source: Path) -> None:
    other = build_bundle(source, "1.3.0", built.keys.key, tmp_path / "other")
    with pytest.raises(OtaError) as ei:
        verify_bundle(
            built.manifest_path, tmp_path / "other" / other.update_package_url, [built.keys.pub]
        )
    assert ei.value.code in ("checksum_mismatch", "size_mismatch", "too_large")


def test_verify_missing_package(built: Built) -> None:
    built.package.unlink()
    with pytest.raises(OtaError) as ei:
        verify_bundle(built.manifest_path, None, [built.keys.pub])
    assert ei.value.code == "not_found"


def test_inspect_manifest_and_package(built: Built) -> None:
    info = inspect_bundle(built.manifest_path)
    assert info["kind"] == "manifest" and info["manifest"]["version"] == "1.2.0"
    info = inspect_bundle(built.package)
    assert info["kind"] == "package"
    assert info["sha256"] == built.manifest.sha256
    assert info["slot"]["version"] == "1.2.0"
    names = [x["name"] for x in info["members"]]
    assert names[0] == "slot.json" and "model/tiny.gguf" in names


def test_inspect_corrupt_package(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b" + os.urandom(200))
    with pytest.raises(OtaError) as ei:
        inspect_bundle(bad)
    assert ei.value.code == "unsafe_archive"


def test_package_members_have_fixed_metadata(built: Built) -> None:
    with tarfile.open(built.package) as tar:
        for ti in tar:
            assert ti.mtime == 0 and ti.uid == 0 and ti.gid == 0 and ti.uname == ""


def test_big_model_source(tmp_path: Path, keys: Keys) -> None:
    src = make_source(tmp_path / "s", model_bytes=os.urandom(3 << 20))
    m = build_bundle(src, "1.0.0", keys.key, tmp_path / "o")
    verify_bundle(tmp_path / "o" / "manifest.json", None, [keys.pub])
    assert m.size > 3 << 20
