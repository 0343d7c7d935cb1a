"""A release's `min_ram_mb`/`min_disk_mb`: signed, checked by the device before it downloads
anything, refused with a one-line reason whose slug (insufficient_ram/insufficient_disk) a
remote command reports and a rollout groups."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from edgetui.api import APIError
from edgetui.config import RemoteConfig
from edgetui.keys import generate_keypair, load_private_key
from edgetui.ota.errors import OTA_ERROR, OtaError
from edgetui.ota.manifest import check_resources, parse_manifest, verify_manifest
from edgetui.remote import RemoteCommands, sign_command
from tests.ota.test_bad_input import refused, runtime
from tests.support.cli import run_cli
from tests.support.ota import OtaDevice, make_source

pytestmark = pytest.mark.timeout(60)


async def test_a_device_with_too_little_ram_refuses_before_download(
    ota_device: OtaDevice,
) -> None:
    ota_device.publish("1.1.0", min_ram_mb=4096)
    before = ota_device.verified_boot_slot()
    async with runtime(ota_device) as rt:
        rt.ota.updater.ram_total_mb = lambda: 512.0
        with pytest.raises(APIError) as info:
            await rt.call("ota.apply")
        st = await rt.call("ota.status")
    err = info.value
    assert err.data == {"code": "insufficient_ram"}
    assert str(err) == "release 1.1.0 needs 4096 MB of RAM; this device has 512 MB"
    assert ota_device.verified_boot_slot() == before
    assert st["booted"] == "a" and st["slots"]["b"]["status"] == "empty"
    downloads = ota_device.state_dir / "slots" / "downloads"
    assert not downloads.exists() or not any(downloads.iterdir())


async def test_a_device_with_too_little_disk_refuses(ota_device: OtaDevice) -> None:
    ota_device.publish("1.1.0", min_disk_mb=10**6)
    await refused(ota_device, "insufficient_disk", "needs 1000000 MB of free disk")


def test_requirements_are_signed_and_optional(ota_device: OtaDevice) -> None:
    path = ota_device.publish("1.1.0", min_ram_mb=1024, min_disk_mb=200)
    m = parse_manifest(path.read_bytes())
    assert (m.min_ram_mb, m.min_disk_mb) == (1024, 200)
    verify_manifest(m, [ota_device.pub])
    check_resources(m, ram_mb=2048, disk_free_mb=500)  # enough: no refusal
    check_resources(m, ram_mb=None, disk_free_mb=None)  # not measured: not held against it
    doc = json.loads(path.read_text())
    doc["min_ram_mb"] = 256  # an attacker lowering the bar breaks the signature
    with pytest.raises(OtaError) as info:
        verify_manifest(parse_manifest(json.dumps(doc).encode()), [ota_device.pub])
    assert info.value.code == "bad_signature"
    doc["min_ram_mb"] = "lots"
    with pytest.raises(OtaError, match="min_ram_mb must be a whole number of MB"):
        parse_manifest(json.dumps(doc).encode())
    plain = parse_manifest(ota_device.publish("1.2.0").read_bytes())
    assert plain.min_ram_mb is None and "min_ram_mb" not in plain.to_dict()


def test_bundle_build_flags(ota_device: OtaDevice, tmp_path: Path) -> None:
    src = make_source(tmp_path / "src")
    out = tmp_path / "out"
    base = ("bundle", "build", "--source", str(src), "--version", "2.0.0")
    proc = run_cli(
        *base,
        "--key",
        str(ota_device.key),
        "--out",
        str(out),
        "--min-ram-mb",
        "1024",
        "--min-disk-mb",
        "300",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["manifest"]["min_ram_mb"] == 1024
    assert parse_manifest((out / "manifest.json").read_bytes()).min_disk_mb == 300
    bad = run_cli(*base, "--key", str(ota_device.key), "--out", str(out), "--min-ram-mb", "-1")
    assert bad.returncode == 2 and "--min-ram-mb -1" in bad.stderr


async def test_the_remote_runner_reports_the_refusal_slug(tmp_path: Path) -> None:
    key_path, pub = generate_keypair(tmp_path / "ops")
    sent: list[dict[str, Any]] = []

    async def call(method: str, params: dict[str, Any], key_id: str) -> Any:
        raise APIError(
            "release 2.0.0 needs 4096 MB of RAM; this device has 512 MB",
            OTA_ERROR,
            {"code": "insufficient_ram"},
        )

    async def publish(record: dict[str, Any]) -> None:
        sent.append(record)

    remote = RemoteCommands(
        RemoteConfig(trusted_keys=[str(pub)]),
        tmp_path,
        device_id="cam-1",
        device_type="camera",
        call=call,
        publish=publish,
    )
    await remote.start()
    try:
        doc = sign_command(
            load_private_key(key_path),
            "ota.apply",
            targets=["type:camera"],
            params={"manifest_url": "http://127.0.0.1:1/manifest.json"},
        )
        await remote.handle(json.dumps(doc).encode())
        end = asyncio.get_running_loop().time() + 10
        while not any(r["state"] == "FAILED" for r in sent):
            assert asyncio.get_running_loop().time() < end, sent
            await asyncio.sleep(0.02)
    finally:
        await remote.close()
    final = sent[-1]
    assert final["state"] == "FAILED" and final["reason"] == "insufficient_ram"
    assert final["message"] == "release 2.0.0 needs 4096 MB of RAM; this device has 512 MB"
