"""safe_extract: hostile archives are refused, nothing lands outside, dest left empty."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from edgetui.ota.errors import OtaError
from edgetui.ota.extract import safe_extract

MB = 1 << 20


def _member(
    name: str, *, data: bytes | None = None, type: bytes = tarfile.REGTYPE, link: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    ti = tarfile.TarInfo(name)
    ti.type = type
    ti.linkname = link
    ti.mode = 0o755 if type == tarfile.DIRTYPE else 0o644
    if data is not None:
        ti.size = len(data)
    return ti, data


def make_tar(path: Path, members, *, gz: bool = True, pax: dict | None = None) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers=pax) as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture
def area(tmp_path: Path) -> Path:
    """tmp/area/slot is the destination; anything written to tmp/area/* else is an escape."""
    d = tmp_path / "area"
    d.mkdir()
    return d


def _refused(archive: Path, dest: Path, code: str = "unsafe_archive", **kw) -> OtaError:
    limits = {"max_bytes": 10 * MB, "max_files": 100, **kw}
    with pytest.raises(OtaError) as ei:
        safe_extract(archive, dest, **limits)
    assert ei.value.code == code, str(ei.value)
    assert "\n" not in str(ei.value)
    assert not dest.exists() or not any(dest.iterdir())
    return ei.value


def _escaped(area: Path) -> list[str]:
    return sorted(p.name for p in area.iterdir() if p.name not in ("slot", "a.tar.gz"))


def test_good_archive_with_internal_links(area: Path) -> None:
    arc = make_tar(
        area / "a.tar.gz",
        [
            _member("./", type=tarfile.DIRTYPE),
            _member("agents", type=tarfile.DIRTYPE),
            _member("agents/run.py", data=b"print(1)\n"),
            _member("model/m.gguf", data=b"G" * 5000),  # parent created implicitly
            _member("agents/alias.py", type=tarfile.SYMTYPE, link="run.py"),
            _member("latest", type=tarfile.SYMTYPE, link="model/../model/m.gguf"),
            _member("copy.gguf", type=tarfile.LNKTYPE, link="model/m.gguf"),
        ],
    )
    seen = []
    safe_extract(
        area / "a.tar.gz",
        area / "slot",
        max_bytes=MB,
        max_files=10,
        progress=lambda d, t: seen.append((d, t)),
    )
    slot = area / "slot"
    assert (slot / "agents" / "run.py").read_bytes() == b"print(1)\n"
    assert (slot / "agents" / "alias.py").read_bytes() == b"print(1)\n"
    assert (slot / "latest").read_bytes() == b"G" * 5000
    assert (slot / "copy.gguf").stat().st_ino == (slot / "model" / "m.gguf").stat().st_ino
    assert seen[-1] == (arc.stat().st_size, arc.stat().st_size)


def test_plain_tar_into_existing_empty_dir(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("x", data=b"1")], gz=False)
    (area / "slot").mkdir()
    safe_extract(arc, area / "slot", max_bytes=MB, max_files=10)
    assert (area / "slot" / "x").read_bytes() == b"1"


def test_dest_must_be_fresh(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("x", data=b"1")])
    (area / "slot").mkdir()
    (area / "slot" / "keep").write_text("running slot content")
    with pytest.raises(FileExistsError):
        safe_extract(arc, area / "slot", max_bytes=MB, max_files=10)
    assert (area / "slot" / "keep").read_text() == "running slot content"


def test_dotdot_path(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("ok", data=b"1"), _member("../x", data=b"evil")])
    err = _refused(arc, area / "slot")
    assert "'..'" in str(err)
    assert _escaped(area) == []


def test_dotdot_inside_path(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("a/../../x", data=b"evil")])
    _refused(arc, area / "slot")
    assert _escaped(area) == []


def test_absolute_path(area: Path) -> None:
    target = area / "abs-target"
    arc = make_tar(area / "a.tar.gz", [_member(str(target), data=b"evil")])
    err = _refused(arc, area / "slot")
    assert "absolute" in str(err)
    assert not target.exists()


def test_symlink_absolute_target(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("etc", type=tarfile.SYMTYPE, link="/etc")])
    assert "outside" in str(_refused(arc, area / "slot"))


def test_symlink_escaping_then_write_through_it(area: Path) -> None:
    arc = make_tar(
        area / "a.tar.gz",
        [
            _member("up", type=tarfile.SYMTYPE, link=".."),
            _member("up/escaped", data=b"evil"),
        ],
    )
    _refused(arc, area / "slot")
    assert _escaped(area) == []


def test_symlink_deep_relative_escape(area: Path) -> None:
    arc = make_tar(
        area / "a.tar.gz", [_member("a/b/link", type=tarfile.SYMTYPE, link="../../../x")]
    )
    _refused(arc, area / "slot")


def test_symlink_chain_escape(area: Path) -> None:
    # Each target looks inside on its own; together `a` resolves to the slot's parent.
    arc = make_tar(
        area / "a.tar.gz",
        [
            _member("a", type=tarfile.SYMTYPE, link="b/.."),
            _member("b", type=tarfile.SYMTYPE, link="."),
        ],
    )
    assert "resolves outside" in str(_refused(arc, area / "slot"))


def test_write_through_internal_symlink_refused(area: Path) -> None:
    arc = make_tar(
        area / "a.tar.gz",
        [
            _member("d", type=tarfile.DIRTYPE),
            _member("l", type=tarfile.SYMTYPE, link="d"),
            _member("l/f", data=b"x"),
        ],
    )
    assert "through the symlink" in str(_refused(arc, area / "slot"))


@pytest.mark.parametrize("link", ["../outside", "/etc/passwd", "not-a-member"])
def test_hardlink_escaping(area: Path, link: str) -> None:
    victim = area / "outside"
    victim.write_text("secret")
    arc = make_tar(area / "a.tar.gz", [_member("h", type=tarfile.LNKTYPE, link=link)])
    _refused(arc, area / "slot")
    assert victim.read_text() == "secret" and victim.stat().st_nlink == 1


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_device_node(area: Path, kind: bytes) -> None:
    ti, _ = _member("dev/sda", type=kind)
    ti.devmajor, ti.devminor = 8, 0
    arc = make_tar(area / "a.tar.gz", [_member("ok", data=b"1"), (ti, None)])
    assert "device node" in str(_refused(arc, area / "slot"))


def test_fifo(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("pipe", type=tarfile.FIFOTYPE)])
    assert "FIFO" in str(_refused(arc, area / "slot"))


def test_decompression_bomb(area: Path) -> None:
    """40 MB of zeros, about 40 KB compressed, against a 4 MB budget."""
    arc = make_tar(area / "a.tar.gz", [_member("zeros", data=bytes(40 * MB))])
    assert arc.stat().st_size < MB
    _refused(arc, area / "slot", code="bomb", max_bytes=4 * MB)


def test_bomb_in_headers_is_caught_while_streaming(area: Path) -> None:
    """A 6 MB pax header carries no file bytes; the decompressed stream is what is counted."""
    arc = make_tar(area / "a.tar.gz", [_member("x", data=b"1")], pax={"comment": "z" * 6 * MB})
    _refused(arc, area / "slot", code="bomb", max_bytes=MB)


def test_bytes_budget_across_files(area: Path) -> None:
    members = [_member(f"f{i}", data=bytes(300_000)) for i in range(5)]
    arc = make_tar(area / "a.tar.gz", members)
    _refused(arc, area / "slot", code="bomb", max_bytes=MB)


def test_too_many_files(area: Path) -> None:
    members = [_member(f"f{i}", data=b"") for i in range(50)]
    arc = make_tar(area / "a.tar.gz", members)
    assert "entries" in str(_refused(arc, area / "slot", code="bomb", max_files=20))


def test_duplicate_member(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("x", data=b"1"), _member("x", data=b"2")])
    assert "duplicate" in str(_refused(arc, area / "slot"))


def test_truncated_archive(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("x", data=os.urandom(200_000))])
    arc.write_bytes(arc.read_bytes()[:50_000])
    assert "truncated" in str(_refused(arc, area / "slot"))


def test_concatenated_gzip_members_and_zero_padding(area: Path) -> None:
    """gzip allows a stream of several members, zero-padded at the end (as GzipFile reads)."""
    plain = make_tar(area / "plain.tar", [_member("x", data=os.urandom(300_000))], gz=False)
    raw = plain.read_bytes()
    arc = area / "a.tar.gz"
    arc.write_bytes(gzip.compress(raw[:100_000]) + gzip.compress(raw[100_000:]) + bytes(1024))
    safe_extract(arc, area / "slot", max_bytes=MB, max_files=10)
    assert (area / "slot" / "x").read_bytes() == raw[512 : 512 + 300_000]


def test_damaged_compressed_data(area: Path) -> None:
    arc = make_tar(area / "a.tar.gz", [_member("x", data=b"y" * 200_000)])
    data = bytearray(arc.read_bytes())
    data[len(data) // 2] ^= 0xFF
    arc.write_bytes(bytes(data))
    assert "corrupt" in str(_refused(arc, area / "slot"))


def test_not_an_archive(area: Path) -> None:
    arc = area / "a.tar.gz"
    arc.write_bytes(b"<html>404</html>" * 100)
    _refused(arc, area / "slot")


def test_refusal_empties_existing_dest(area: Path) -> None:
    (area / "slot").mkdir()
    arc = make_tar(
        area / "a.tar.gz",
        [_member("good/file", data=b"ok"), _member("pipe", type=tarfile.FIFOTYPE)],
    )
    _refused(arc, area / "slot")
    assert (area / "slot").is_dir()  # the directory stays, its content is gone
