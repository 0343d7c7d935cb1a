"""Staging a slot: the factory install and the updater put content into a slot the same way."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from edgetui.ota.errors import OtaError
from edgetui.ota.factory import install_factory
from edgetui.ota.slots import SlotStore
from edgetui.ota.updater import stage_slot
from tests.ota.test_bad_input import sign_package
from tests.support.ota import OtaDevice


def lying_package(path: Path, record_version: str) -> Path:
    """A package whose slot record names `record_version`, whatever its manifest says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        record = json.dumps({"version": record_version}).encode()
        ti = tarfile.TarInfo("slot.json")
        ti.size = len(record)
        tar.addfile(ti, io.BytesIO(record))
    return path


def test_factory_install_refuses_a_slot_record_that_contradicts_the_manifest(
    tmp_path: Path,
) -> None:
    dev = OtaDevice(tmp_path / "dev")
    package = lying_package(dev.repo / "edgetui-1.0.0.tar.gz", "6.6.6")
    sign_package(dev, package, "1.0.0")
    with pytest.raises(OtaError) as info:
        install_factory(dev.state_dir, dev.manifest, [str(dev.pub)])
    assert info.value.code == "malformed_manifest"
    assert str(info.value) == "bundle says version 6.6.6, manifest says 1.0.0"
    store = SlotStore(dev.state_dir)
    assert store.current() is None
    assert store.load().slots["a"].status == "empty"


def test_stage_slot_refuses_when_the_slot_would_not_fit(ota_device: OtaDevice) -> None:
    store = ota_device.store()
    package = next(ota_device.repo.glob("*.tar.gz"))
    with pytest.raises(OtaError) as info:
        stage_slot(
            store,
            "b",
            package,
            version="1.1.0",
            size=package.stat().st_size,
            free_space=lambda _path: 1024,
        )
    assert info.value.code == "no_space"
    assert not any(store.slot_dir("b").iterdir())
