"""The slot content digest: one canonical form, built by a walk of the slot (boot) or from the
hashes taken while extracting (install), with no second read of the content."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from edgetui.ota import slots
from edgetui.ota.extract import safe_extract
from edgetui.ota.slots import content_digest, listing_digest
from edgetui.ota.updater import stage_slot
from tests.support.ota import OtaDevice

MB = 1 << 20
# content_digest of make_tree() as computed by the two-pass implementation this one replaced:
# slots installed before keep verifying at boot.
RECORDED = "sha256:d20dd70cf6d811c6cc58c547538ccbf50a7c1242de1baa2e5a52282b1556e11d"


def make_tree(root: Path) -> Path:
    """Nested and empty dirs, empty files, a hard link, symlinks to a file, to a directory and
    to nothing, names whose sort order is not obvious, and a __pycache__ the digest ignores."""
    (root / "model").mkdir(parents=True)
    (root / "model" / "tiny.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 64)
    (root / "agents" / "deep" / "er").mkdir(parents=True)
    (root / "agents" / "sensor.py").write_text("async def run(ctx):\n    pass\n")
    (root / "agents" / "deep" / "er" / "empty.txt").write_bytes(b"")
    (root / "agents" / "__pycache__").mkdir()
    (root / "agents" / "__pycache__" / "sensor.cpython-311.pyc").write_bytes(b"\0" * 10)
    (root / "empty-dir").mkdir()
    (root / "a-b").write_text("dash\n")
    (root / "a.b").write_text("dot\n")
    (root / "B").write_text("upper\n")
    (root / "slot.json").write_text('{"version": "1.0.0"}\n')
    os.link(root / "a.b", root / "a.b.hard")
    os.symlink("model/tiny.gguf", root / "latest.gguf")
    os.symlink("agents/deep", root / "deep-link")
    os.symlink("nowhere", root / "agents" / "dangling")
    return root


def test_the_canonical_form_is_the_one_recorded_slots_use(tmp_path: Path) -> None:
    assert content_digest(make_tree(tmp_path / "tree")) == RECORDED


def test_digest_while_extracting_equals_the_digest_of_the_extracted_tree(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=".")  # hard link as LNKTYPE, symlinks as SYMTYPE
    slot = tmp_path / "slot"
    listing = safe_extract(archive, slot, max_bytes=MB, max_files=100)
    assert listing["a.b.hard"].kind == "f" and listing["deep-link"].to_dir
    assert listing_digest(listing) == content_digest(slot) == RECORDED


def _add(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, link: str = "") -> None:
    ti = tarfile.TarInfo(name)
    if link:
        ti.type, ti.linkname = tarfile.SYMTYPE, link
    elif data is None:
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
    else:
        ti.size = len(data)
    tar.addfile(ti, io.BytesIO(data) if data is not None else None)


def test_member_order_does_not_change_the_digest(tmp_path: Path) -> None:
    """Links before their targets, files before their directories' own entries."""
    archive = tmp_path / "scrambled.tar"
    with tarfile.open(archive, "w") as tar:
        _add(tar, "z-link", link="a/b")
        _add(tar, "a/b/c/empty", data=b"")
        _add(tar, "a/b", data=None)
        _add(tar, "a/__pycache__/x.pyc", data=b"junk")
        _add(tar, "A", data=b"first in sort order")
        _add(tar, "a/file", data=b"x" * 3000)
        _add(tar, "a/link-to-file", link="file")
    slot = tmp_path / "slot"
    listing = safe_extract(archive, slot, max_bytes=MB, max_files=100)
    assert listing_digest(listing) == content_digest(slot)


def test_staging_a_slot_reads_no_extracted_file_back(
    ota_device: OtaDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ota_device.store()
    package = ota_device.repo / "edgetui-1.1.0.tar.gz"

    def no_second_read(path: Path, **_: object) -> str:
        raise AssertionError(f"{path} was read back after extraction")

    monkeypatch.setattr(slots, "sha256_file", no_second_read)
    digest = stage_slot(store, "b", package, version="1.1.0", size=package.stat().st_size)
    monkeypatch.undo()
    assert digest == content_digest(store.slot_dir("b"))
