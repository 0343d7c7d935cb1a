"""Issue 12 defect: paths in a signed bundle's slot.json must stay inside the slot.

A bundle naming its model `../../x.gguf`, an absolute path, or its agents `../../../../tmp`
used to install and commit: the device then loaded files its slot checksum did not cover.
Now it is refused before the inactive slot is written, and the build refuses it too.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from edgetui.keys import generate_keypair
from edgetui.models.slot import SlotContent, check_inside, parse_slot_record
from edgetui.ota.bundle import build_bundle, check_record
from tests.ota.test_bad_input import refused, sign_package
from tests.support.ota import OtaDevice

pytestmark = pytest.mark.timeout(60)


def package_with_record(path: Path, record: bytes) -> Path:
    """A package whose slot.json is `record` (raw bytes: duplicate keys survive)."""
    with tarfile.open(path, "w:gz") as tar:
        ti = tarfile.TarInfo("slot.json")
        ti.size = len(record)
        tar.addfile(ti, io.BytesIO(record))
        for name in ("model", "agents"):
            d = tarfile.TarInfo(name)
            d.type = tarfile.DIRTYPE
            tar.addfile(d)
        ti = tarfile.TarInfo("model/m.gguf")
        ti.size = 4
        tar.addfile(ti, io.BytesIO(b"GGUF"))
    return path


@pytest.mark.parametrize(
    "record",
    [
        b'{"version": "2.0.0", "model": "../../x.gguf"}',
        b'{"version": "2.0.0", "model": "/tmp/x.gguf"}',
        b'{"version": "2.0.0", "agents": "../../../../tmp"}',
        b'{"version": "2.0.0", "golden": "model/../../golden.json"}',
        # Duplicate keys: the device might take one value, another reader the other.
        b'{"version": "2.0.0", "model": "model/m.gguf", "model": "../x.gguf"}',
    ],
)
async def test_escaping_slot_record_is_refused_before_writing(
    ota_device: OtaDevice, record: bytes, tmp_path: Path
) -> None:
    outside = tmp_path / "x.gguf"
    outside.write_bytes(b"GGUF not covered by the slot checksum")
    pkg = package_with_record(ota_device.repo / "edgetui-2.0.0.tar.gz", record)
    sign_package(ota_device, pkg, "2.0.0")
    err = await refused(ota_device, "unsafe_archive", "bundle refused")
    assert "slot" in str(err)
    # Nothing was written into the inactive slot.
    slot_b = ota_device.state_dir / "slots" / "b"
    assert not slot_b.exists() or list(slot_b.iterdir()) == []


def test_symlinked_path_outside_the_slot_is_refused(tmp_path: Path) -> None:
    slot = tmp_path / "slot"
    slot.mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, slot / "agents")  # a link planted after install
    (slot / "slot.json").write_text(json.dumps({"version": "1.0.0", "agents": "agents"}))
    with pytest.raises(ValueError, match="outside the slot"):
        SlotContent.load(slot)
    os.unlink(slot / "agents")
    (slot / "agents").mkdir()
    assert SlotContent.load(slot).agents_dir == slot / "agents"


def test_duplicate_key_in_slot_record() -> None:
    with pytest.raises(ValueError, match="duplicate key 'version'"):
        parse_slot_record(b'{"version": "1", "version": "2"}')


def test_build_checks_the_record_too(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(ValueError, match="leaves the slot"):
        check_record(src, b'{"version": "1.0.0", "agents": "../../../../tmp"}')
    os.symlink(tmp_path, src / "agents")
    with pytest.raises(ValueError, match="outside the slot"):
        check_record(src, b'{"version": "1.0.0", "agents": "agents"}')
    # A linked agents/ is refused by the builder as a whole, before any package is written.
    key, _ = generate_keypair(tmp_path / "keys" / "k")
    with pytest.raises(ValueError, match="outside the slot"):
        build_bundle(src, "1.0.0", key, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.tar.gz"))
    with pytest.raises(ValueError, match="outside the slot"):
        check_inside(src, src / "agents" / "x.py", "agents")


async def test_a_record_that_is_not_first_is_checked_after_extraction(
    ota_device: OtaDevice,
) -> None:
    pkg = ota_device.repo / "edgetui-2.0.0.tar.gz"
    with tarfile.open(pkg, "w:gz") as tar:
        d = tarfile.TarInfo("agents")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        record = b'{"version": "2.0.0", "agents": "../../../../tmp"}'
        ti = tarfile.TarInfo("slot.json")
        ti.size = len(record)
        tar.addfile(ti, io.BytesIO(record))
    sign_package(ota_device, pkg, "2.0.0")
    err = await refused(ota_device, "malformed_manifest", "leaves the slot")
    assert "agents" in str(err)
    slot_b = ota_device.state_dir / "slots" / "b"
    assert not slot_b.exists() or list(slot_b.iterdir()) == []
