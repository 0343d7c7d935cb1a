"""Bad updates through the service: each refused with a clear one-line reason, the running
slot untouched (still booted, content unchanged) and nothing left on trial."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edgetui.api import APIError
from edgetui.keys import generate_keypair, load_private_key
from edgetui.models.clock import format_rfc3339 as format_time
from edgetui.ota.bundle import sha256_file
from edgetui.ota.manifest import Manifest
from edgetui.runtime import Runtime
from tests.support.http_server import FileServer
from tests.support.ota import OtaDevice

pytestmark = pytest.mark.timeout(60)


@contextlib.asynccontextmanager
async def runtime(dev: OtaDevice, **ota: object) -> AsyncIterator[Runtime]:
    rt = Runtime(dev.config(**ota), dev.state_dir)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


async def refused(dev: OtaDevice, code: str, match: str, **ota: object) -> APIError:
    """Apply must fail with `code`; slot a stays booted and intact, b not on trial."""
    before = dev.verified_boot_slot()
    async with runtime(dev, **ota) as rt:
        with pytest.raises(APIError) as info:
            await rt.call("ota.apply")
        st = await rt.call("ota.status")
    err = info.value
    assert err.data == {"code": code}, str(err)
    assert match in str(err)
    assert "\n" not in str(err)
    assert dev.verified_boot_slot() == before == ("a", before[1])
    assert st["booted"] == "a" and st["primary"] == "a"
    assert st["slots"]["b"]["status"] in ("empty", "bad")
    assert st["history"][0]["result"] == "failed" and st["history"][0]["reason"] == str(err)
    assert st["progress"]["phase"] == "failed"
    return err


def sign_package(dev: OtaDevice, package: Path, version: str, **fields: object) -> None:
    """Write a manifest for `package` signed by the device's release key."""
    m = Manifest(
        version=version,
        release_date=format_time(__import__("datetime").datetime.now().astimezone()),
        changes="",
        target_devices=["all"],
        update_package_url=package.name,
        checksum="sha256:" + sha256_file(package),
        rollback_version=None,
        size=package.stat().st_size,
        expires="2099-01-01T00:00:00Z",
        key_id="",
        signature="",
    )
    for k, v in fields.items():
        setattr(m, k, v)
    m.sign(load_private_key(dev.key))
    dev.manifest.write_bytes(m.to_json())


def evil_tar(path: Path, name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        record = json.dumps({"version": "2.0.0"}).encode()
        ti = tarfile.TarInfo("slot.json")
        ti.size = len(record)
        tar.addfile(ti, io.BytesIO(record))
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.linkname = link
        data = b"" if kind != tarfile.REGTYPE else b"pwned\n"
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))
    return path


async def test_tampered_package(ota_device: OtaDevice) -> None:
    pkg = ota_device.repo / "edgetui-1.1.0.tar.gz"
    data = bytearray(pkg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pkg.write_bytes(bytes(data))
    await refused(ota_device, "checksum_mismatch", "does not match")


async def test_tampered_manifest(ota_device: OtaDevice) -> None:
    m = json.loads(ota_device.manifest.read_text())
    m["target_devices"] = ["all", "evil"]
    ota_device.manifest.write_text(json.dumps(m))
    await refused(ota_device, "bad_signature", "does not verify")


async def test_unknown_key(ota_device: OtaDevice) -> None:
    other, _ = generate_keypair(ota_device.root / "keys" / "stranger")
    ota_device.publish("1.1.0", key=other)
    await refused(ota_device, "unknown_key", "unknown key")


async def test_revoked_key(ota_device: OtaDevice) -> None:
    await refused(ota_device, "revoked_key", "revoked key", revoked_keys=[str(ota_device.pub)])


async def test_expired_manifest(ota_device: OtaDevice) -> None:
    ota_device.publish("1.1.0", expires_days=1 / 86400)  # one second
    await asyncio.sleep(1.1)
    await refused(ota_device, "expired", "expired at")


async def test_downgrade(ota_device: OtaDevice) -> None:
    ota_device.publish("0.9.0")
    await refused(ota_device, "downgrade", "older than installed 1.0.0")


async def test_same_version_is_not_an_update(ota_device: OtaDevice) -> None:
    ota_device.publish("1.0.0")
    await refused(ota_device, "downgrade", "already installed")


async def test_other_device_type(ota_device: OtaDevice) -> None:
    ota_device.publish("1.1.0", targets=["camera-x2", "device-17"])
    await refused(ota_device, "wrong_target", "this device is test-device (type test-kit)")


async def test_malformed_manifest(ota_device: OtaDevice) -> None:
    m = json.loads(ota_device.manifest.read_text())
    del m["checksum"]
    ota_device.manifest.write_text(json.dumps(m))
    await refused(ota_device, "malformed_manifest", "checksum")


async def test_missing_manifest(ota_device: OtaDevice) -> None:
    ota_device.manifest.unlink()
    await refused(ota_device, "not_found", "manifest")


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("../x", tarfile.REGTYPE, ""),
        ("/abs", tarfile.REGTYPE, ""),
        ("agents/escape", tarfile.SYMTYPE, "../../../etc/passwd"),
        ("agents/dev", tarfile.CHRTYPE, ""),
        ("agents/fifo", tarfile.FIFOTYPE, ""),
    ],
)
async def test_unsafe_archive(ota_device: OtaDevice, name: str, kind: bytes, link: str) -> None:
    pkg = evil_tar(ota_device.repo / "edgetui-2.0.0.tar.gz", name, kind=kind, link=link)
    sign_package(ota_device, pkg, "2.0.0")
    await refused(ota_device, "unsafe_archive", "")
    assert not (ota_device.state_dir / "slots" / "x").exists()
    assert list((ota_device.state_dir / "slots" / "b").iterdir()) == []


async def test_decompression_bomb(ota_device: OtaDevice) -> None:
    pkg = ota_device.repo / "edgetui-2.0.0.tar.gz"
    with tarfile.open(pkg, "w:gz") as tar:
        ti = tarfile.TarInfo("model/zeros.bin")
        ti.size = 200 * 1024 * 1024  # compresses ~1000:1, far past the extraction budget
        tar.addfile(ti, _Zeros(ti.size))
    sign_package(ota_device, pkg, "2.0.0")
    await refused(ota_device, "bomb", "")


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self.left if size < 0 else min(size, self.left)
        self.left -= n
        return b"\0" * n


async def test_not_enough_space(ota_device: OtaDevice) -> None:
    before = ota_device.verified_boot_slot()
    async with runtime(ota_device) as rt:
        rt.ota.updater.free_space = lambda _path: 1024 * 1024
        with pytest.raises(APIError) as info:
            await rt.call("ota.apply")
        st = await rt.call("ota.status")
    assert info.value.data == {"code": "no_space"}
    assert "not enough disk space" in str(info.value)
    assert ota_device.verified_boot_slot() == before
    assert st["booted"] == "a" and st["slots"]["b"]["status"] == "empty"


@pytest.fixture
def repo_server(ota_device: OtaDevice) -> FileServer:
    from tests.support.http_server import serve_directory

    with serve_directory(ota_device.repo) as server:
        yield server


PKG = "/edgetui-1.1.0.tar.gz"


async def test_package_404(ota_device: OtaDevice, repo_server: FileServer) -> None:
    repo_server.set_faults(status=404, paths=(PKG,))
    await refused(
        ota_device, "http_error", "404 Not Found", manifest_url=repo_server.url("manifest.json")
    )


async def test_package_500(ota_device: OtaDevice, repo_server: FileServer) -> None:
    repo_server.set_faults(status=500, paths=(PKG,))
    await refused(ota_device, "http_error", "500", manifest_url=repo_server.url("manifest.json"))


async def test_manifest_server_hangs(ota_device: OtaDevice, repo_server: FileServer) -> None:
    repo_server.set_faults(hang=True, paths=("/manifest.json",))
    await refused(
        ota_device,
        "timeout",
        "",
        manifest_url=repo_server.url("manifest.json"),
        download_timeout_s=1.0,
    )


async def test_package_larger_than_size(ota_device: OtaDevice, repo_server: FileServer) -> None:
    repo_server.set_faults(extra_bytes=-1, paths=(PKG,))  # endless data
    await refused(ota_device, "too_large", "", manifest_url=repo_server.url("manifest.json"))


async def test_truncated_download_resumes(ota_device: OtaDevice, repo_server: FileServer) -> None:
    repo_server.set_faults(cut_after=50_000, paths=(PKG,), limit=1)
    async with runtime(ota_device, manifest_url=repo_server.url("manifest.json")) as rt:
        out = await rt.call("ota.apply")
    assert out["version"] == "1.1.0"
    ranges = [r.range for r in repo_server.requests if r.path == PKG]
    assert ranges == [None, "bytes=50000-"]
