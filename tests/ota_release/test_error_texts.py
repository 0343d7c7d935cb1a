"""Issue 12 defects in error texts: a short package says it is shorter than the signed
size; an ftp:// URL says "unsupported scheme" (not "not found" with a slash lost)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edgetui.ota.bundle import check_package
from edgetui.ota.errors import OtaError
from edgetui.ota.fetch import download, fetch_manifest, part_path
from tests.ota_release.test_fetch import payload  # noqa: F401
from tests.support.http_server import FileServer

from .conftest import Built


@pytest.mark.parametrize("url", ["ftp://updates.example/repo/manifest.json", "FTP://h/m.json"])
def test_ftp_manifest_is_an_unsupported_scheme(url: str) -> None:
    with pytest.raises(OtaError) as ei:
        fetch_manifest(url)
    assert ei.value.code == "unsupported_scheme"
    assert "unsupported scheme" in str(ei.value) and url in str(ei.value)
    assert "not found" not in str(ei.value)


def test_ftp_package_is_an_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(OtaError) as ei:
        download("ftp://h/edgetui-1.0.tar.gz", tmp_path / "p.tar.gz", size=10, sha256="0" * 64)
    assert ei.value.code == "unsupported_scheme" and "ftp://h/edgetui-1.0.tar.gz" in str(ei.value)


def _short(data: bytes) -> dict:
    # The manifest signs for more bytes than the source has.
    return {"size": len(data) + 1000, "sha256": "sha256:" + hashlib.sha256(data).hexdigest()}


def test_short_http_package_says_shorter_than_signed(
    http_server: FileServer,
    payload: bytes,  # noqa: F811
    tmp_path: Path,
) -> None:
    dest = tmp_path / "pkg.bin"
    with pytest.raises(OtaError) as ei:
        download(http_server.url("pkg.bin"), dest, timeout=5, **_short(payload))
    assert ei.value.code == "size_mismatch"
    assert f"is {len(payload)} bytes, shorter than the signed size of {len(payload) + 1000}" in (
        str(ei.value)
    )
    assert not dest.exists() and not part_path(dest).exists()


def test_short_local_package_says_shorter_than_signed(tmp_path: Path) -> None:
    src = tmp_path / "pkg.bin"
    src.write_bytes(b"z" * 5000)
    with pytest.raises(OtaError) as ei:
        download(str(src), tmp_path / "out" / "pkg.bin", **_short(b"z" * 5000))
    assert ei.value.code == "size_mismatch"
    assert "shorter than the signed size of 6000 bytes" in str(ei.value)


def test_bundle_verify_says_shorter(built: Built) -> None:
    data = built.package.read_bytes()
    built.package.write_bytes(data[:-10])
    with pytest.raises(OtaError) as ei:
        check_package(built.package, built.manifest)
    assert ei.value.code == "size_mismatch" and "shorter than the signed size" in str(ei.value)
