"""Transport against a real HTTP server on 127.0.0.1 and local sources."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from edgetui.ota.errors import OtaError
from edgetui.ota.fetch import (
    SlowLimit,
    download,
    fetch_manifest,
    part_path,
    resolve_package_url,
)
from edgetui.ota.manifest import parse_manifest
from tests.support.http_server import Faults, FileServer

from .conftest import Built

PKG = "/pkg.bin"


@pytest.fixture
def payload(http_server: FileServer) -> bytes:
    """3.5 MiB of random bytes served as /pkg.bin (several 1 MiB chunks)."""
    data = os.urandom(3 * (1 << 20) + 512 * 1024)
    (http_server.root / "pkg.bin").write_bytes(data)
    return data


def _get(server: FileServer, dest: Path, data: bytes, **kw) -> None:
    download(
        server.url("pkg.bin"),
        dest,
        size=len(data),
        sha256="sha256:" + hashlib.sha256(data).hexdigest(),
        **kw,
    )


# --- manifest --------------------------------------------------------------------------


def test_fetch_manifest_http(http_server: FileServer, built: Built) -> None:
    data = fetch_manifest(http_server.url("manifest.json"), timeout=5)
    assert parse_manifest(data).version == "1.2.0"


def test_fetch_manifest_file_url_and_plain_path(built: Built) -> None:
    assert fetch_manifest(built.manifest_path.as_uri()) == built.manifest_path.read_bytes()
    assert fetch_manifest(str(built.manifest_path)) == built.manifest_path.read_bytes()


def test_fetch_manifest_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OtaError) as ei:
        fetch_manifest(str(tmp_path / "usb" / "manifest.json"))
    assert ei.value.code == "not_found"


@pytest.mark.parametrize(("status", "words"), [(404, "404 Not Found"), (500, "500 Internal")])
def test_fetch_manifest_http_status(http_server: FileServer, status: int, words: str) -> None:
    http_server.set_faults(status=status)
    with pytest.raises(OtaError) as ei:
        fetch_manifest(http_server.url("manifest.json"), timeout=5)
    assert ei.value.code == "http_error"
    assert words in str(ei.value)


def test_fetch_manifest_404_without_fault(http_server: FileServer) -> None:
    with pytest.raises(OtaError) as ei:
        fetch_manifest(http_server.url("nothing.json"), timeout=5)
    assert ei.value.code == "http_error" and "404" in str(ei.value)


def test_fetch_manifest_server_hangs(http_server: FileServer) -> None:
    http_server.set_faults(hang=True)
    with pytest.raises(OtaError) as ei:
        fetch_manifest(http_server.url("manifest.json"), timeout=0.5)
    assert ei.value.code == "timeout"


def test_fetch_manifest_connection_refused() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OtaError) as ei:
        fetch_manifest(f"http://127.0.0.1:{port}/manifest.json", timeout=2)
    assert ei.value.code == "http_error"


def test_fetch_manifest_endless(http_server: FileServer, built: Built) -> None:
    http_server.set_faults(extra_bytes=-1)
    with pytest.raises(OtaError) as ei:
        fetch_manifest(http_server.url("manifest.json"), timeout=5)
    assert ei.value.code == "too_large"


@pytest.mark.parametrize(
    ("manifest_url", "package_url", "expected"),
    [
        ("https://ota.example/a/manifest.json", "pkg.tgz", "https://ota.example/a/pkg.tgz"),
        ("https://ota.example/a/manifest.json", "/cdn/p.tgz", "https://ota.example/cdn/p.tgz"),
        ("https://ota.example/m.json", "https://cdn.example/p.tgz", "https://cdn.example/p.tgz"),
        ("file:///media/usb/manifest.json", "p.tgz", "file:///media/usb/p.tgz"),
        ("/media/usb/manifest.json", "p.tgz", "/media/usb/p.tgz"),
        ("/media/usb/manifest.json", "/srv/p.tgz", "/srv/p.tgz"),
        ("manifest.json", "p.tgz", "p.tgz"),
    ],
)
def test_resolve_package_url(manifest_url: str, package_url: str, expected: str) -> None:
    assert resolve_package_url(manifest_url, package_url) == expected


# --- package download ----------------------------------------------------------------------


def test_download_http_with_progress(http_server: FileServer, payload: bytes, tmp_path) -> None:
    seen: list[tuple[int, int]] = []
    dest = tmp_path / "dl" / "pkg.tar.gz"
    _get(http_server, dest, payload, progress=lambda d, t: seen.append((d, t)))
    assert dest.read_bytes() == payload
    assert not part_path(dest).exists()
    assert seen[-1] == (len(payload), len(payload))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_download_complete_dest_is_not_fetched_again(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "pkg"
    _get(http_server, dest, payload)
    n = len(http_server.requests)
    _get(http_server, dest, payload)
    assert len(http_server.requests) == n


def test_truncated_download_then_resume(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "pkg"
    cut = (1 << 20) + 12345
    http_server.set_faults(cut_after=cut, limit=1)
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload, retries=0)
    assert ei.value.code == "http_error" and "resume" in str(ei.value)
    assert part_path(dest).stat().st_size == cut
    assert not dest.exists()
    _get(http_server, dest, payload, retries=0)
    assert dest.read_bytes() == payload
    assert http_server.requests[-1].range == f"bytes={cut}-"


def test_interrupted_download_resumes_by_itself(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "pkg"
    http_server.set_faults(cut_after=700_000, limit=2)
    _get(http_server, dest, payload, retry_delay=0.01)
    assert dest.read_bytes() == payload
    assert [r.range for r in http_server.requests] == [
        None,
        "bytes=700000-",
        "bytes=1400000-",
    ]


def test_resume_when_server_ignores_range(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "pkg"
    part_path(dest).write_bytes(b"garbage that must not survive")
    http_server.set_faults(ignore_range=True)
    _get(http_server, dest, payload)
    assert dest.read_bytes() == payload
    assert http_server.requests[-1].range is not None  # asked, got 200, restarted


def test_stale_part_with_wrong_bytes_fails_checksum_then_restarts(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    dest = tmp_path / "pkg"
    part_path(dest).write_bytes(b"x" * 1000)  # not a prefix of the package
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload)
    assert ei.value.code == "checksum_mismatch"
    assert not part_path(dest).exists()
    _get(http_server, dest, payload)
    assert dest.read_bytes() == payload


def test_server_sends_more_than_size(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    http_server.set_faults(extra_bytes=4096)
    dest = tmp_path / "pkg"
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload)
    assert ei.value.code == "too_large"
    assert not dest.exists() and not part_path(dest).exists()


def test_endless_data_without_length(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    http_server.set_faults(extra_bytes=-1, no_content_length=True)
    dest = tmp_path / "pkg"
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload, timeout=10)
    assert ei.value.code == "too_large"
    assert not part_path(dest).exists()


def test_tampered_package_over_http(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    bad = bytearray(payload)
    bad[-1] ^= 1
    (http_server.root / "pkg.bin").write_bytes(bytes(bad))
    dest = tmp_path / "pkg"
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload)
    assert ei.value.code == "checksum_mismatch"
    assert not dest.exists() and not part_path(dest).exists()


@pytest.mark.parametrize(("status", "words"), [(404, "404 Not Found"), (500, "500 Internal")])
def test_download_http_status(
    http_server: FileServer, payload: bytes, tmp_path: Path, status: int, words: str
) -> None:
    http_server.set_faults(status=status)
    with pytest.raises(OtaError) as ei:
        _get(http_server, tmp_path / "pkg", payload)
    assert ei.value.code == "http_error" and words in str(ei.value)
    assert len(http_server.requests) == 1  # no retry without progress


def test_download_server_hangs(http_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    http_server.set_faults(hang=True)
    with pytest.raises(OtaError) as ei:
        _get(http_server, tmp_path / "pkg", payload, timeout=0.5)
    assert ei.value.code == "timeout"


def test_download_stalls_mid_body(http_server: FileServer, payload: bytes, tmp_path: Path) -> None:
    http_server.set_faults(hang_after=200_000)
    dest = tmp_path / "pkg"
    with pytest.raises(OtaError) as ei:
        # The stall lasts until the server stops; a per-read timeout a busy machine cannot
        # trip while the first 200 000 bytes are still coming.
        _get(http_server, dest, payload, timeout=3, retries=0)
    assert ei.value.code == "timeout"
    assert part_path(dest).stat().st_size == 200_000  # kept for resuming


def test_download_that_drips_fails_as_too_slow(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    """A byte every 50 ms never trips the per-read timeout; the minimum speed does."""
    http_server.set_faults(drip_after=200_000)
    dest = tmp_path / "pkg"
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload, timeout=5, retries=0, slow=SlowLimit(10_000, 0.5))
    assert ei.value.code == "timeout"
    assert "too slow" in str(ei.value) and "download_min_bytes_per_s" in str(ei.value)
    assert part_path(dest).stat().st_size >= 200_000  # kept for resuming


def test_a_slow_limit_lets_a_healthy_download_through(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    _get(http_server, tmp_path / "pkg", payload, slow=SlowLimit(10_000, 0.01))
    assert (tmp_path / "pkg").read_bytes() == payload


def test_not_enough_space_fake_free_space(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    """Free space comes from an injected function reporting 5 MB."""
    dest = tmp_path / "pkg"
    with pytest.raises(OtaError) as ei:
        _get(http_server, dest, payload, free_space=lambda _p: 5_000_000)
    assert ei.value.code == "no_space"
    msg = str(ei.value)
    assert "need" in msg and "5.0 MB available" in msg and "\n" not in msg
    assert http_server.requests == [] and not part_path(dest).exists()


def test_not_enough_space_huge_size(tmp_path: Path, built: Built) -> None:
    """The real disk cannot hold a package claiming 2**60 bytes."""
    with pytest.raises(OtaError) as ei:
        download(str(built.package), tmp_path / "pkg", size=1 << 60, sha256=built.manifest.sha256)
    assert ei.value.code == "no_space"


def test_download_file_url_and_plain_path(tmp_path: Path, built: Built) -> None:
    for i, url in enumerate([built.package.as_uri(), str(built.package)]):
        dest = tmp_path / f"dl{i}" / "pkg"
        download(url, dest, size=built.manifest.size, sha256=built.manifest.checksum)
        assert dest.read_bytes() == built.package.read_bytes()


def test_local_resume(tmp_path: Path, built: Built) -> None:
    data = built.package.read_bytes()
    dest = tmp_path / "pkg"
    part_path(dest).write_bytes(data[:1000])
    download(str(built.package), dest, size=len(data), sha256=built.manifest.checksum)
    assert dest.read_bytes() == data


def test_local_package_larger_than_size(tmp_path: Path, built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        download(
            str(built.package),
            tmp_path / "pkg",
            size=built.manifest.size - 1,
            sha256=built.manifest.checksum,
        )
    assert ei.value.code == "too_large"


def test_local_package_missing(tmp_path: Path, built: Built) -> None:
    with pytest.raises(OtaError) as ei:
        download(
            str(tmp_path / "usb" / "none.tar.gz"),
            tmp_path / "pkg",
            size=10,
            sha256=built.manifest.checksum,
        )
    assert ei.value.code == "not_found"


def test_faults_restricted_to_paths(
    http_server: FileServer, payload: bytes, tmp_path: Path
) -> None:
    http_server.set_faults(Faults(status=500, paths=("/other",)))
    _get(http_server, tmp_path / "pkg", payload)
    assert http_server.requests[0].path == PKG and not http_server.requests[0].faulted
