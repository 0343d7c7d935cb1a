"""Safe extraction of a bundle into a fresh slot directory.

Refuses absolute paths, `..`, links leading outside the destination, device nodes, FIFOs and
size/file-count bombs. Limits are enforced on the bytes actually decompressed while
streaming, not on header claims alone. Files and directories are fsynced at the end so a
power cut cannot leave an extracted slot that was reported complete but is not on disk.

Each file is hashed as its bytes are written, and the extraction returns the slot's listing
(edgetui.ota.slots.Listing), so the slot's content digest costs no second read of the content.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from edgetui.durable import fsync_dir
from edgetui.faults import fault_point
from edgetui.ota.errors import OtaError
from edgetui.ota.slots import DIR, Entry, Listing

CHUNK = 1 << 20
# Allowance for tar headers, pax records and padding on top of the file bytes.
PER_MEMBER_OVERHEAD = 4096
FIXED_OVERHEAD = 1 << 20
Progress = Callable[[int, int], None]


class _Counting:
    """Read-only wrapper counting bytes; raises OtaError(bomb) beyond `limit`."""

    def __init__(self, f: BinaryIO, limit: int | None = None) -> None:
        self._f = f
        self.count = 0
        self.limit = limit

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise OtaError(
                "bomb", f"archive expands beyond {self.limit} bytes (decompression bomb?)"
            )
        return data


class _Gunzip:
    """Read-only gzip decompression in pieces of up to `n` bytes per read.

    gzip.GzipFile inflates 8 KiB at a time, and for a 100 MB model its per-call overhead cost
    more than the inflating. zlib checks each member's header, CRC and length; members may be
    concatenated and zero-padded as gzip allows. A truncated stream raises EOFError, damaged
    data zlib.error.
    """

    def __init__(self, f: _Counting) -> None:
        self._f = f
        self._z: Any = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # None between members
        self._pending = b""

    def read(self, n: int = -1) -> bytes:
        size = n if n > 0 else CHUNK
        while True:
            if not self._pending:
                self._pending = self._f.read(CHUNK)
                if not self._pending:
                    if self._z is not None:
                        raise EOFError("compressed stream ended before its end marker")
                    return b""
            if self._z is None:  # after a member: zero padding, or the next member
                self._pending = self._pending.lstrip(b"\0")
                if not self._pending:
                    continue
                self._z = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out = self._z.decompress(self._pending, size)
            if self._z.eof:
                self._pending, self._z = self._z.unused_data, None
            else:
                self._pending = self._z.unconsumed_tail
            if out:
                return out


def _unsafe(msg: str) -> OtaError:
    return OtaError("unsafe_archive", f"unsafe archive: {msg}")


def _clean_name(name: str) -> str | None:
    """Normalized relative member path, None for the root entry; refuses /abs and `..`."""
    if "\x00" in name:
        raise _unsafe(f"member name with NUL byte {name!r}")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise _unsafe(f"absolute path {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(f"path with '..' {name!r}")
    return "/".join(parts) or None


def _within(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class _Extractor:
    def __init__(self, dest: Path, max_bytes: int, max_files: int) -> None:
        self.dest = dest
        self.root = os.path.realpath(dest)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.files = 0
        self.bytes = 0
        self.dirs: set[str] = {""}
        self.regular: set[str] = set()
        self.symlinks: list[str] = []
        self.written: list[Path] = []
        self.listing: Listing = {}

    def _parent(self, rel: str) -> None:
        """Create the parent directories of rel; refuse to go through links or files."""
        parent = posixpath.dirname(rel)
        if parent in self.dirs:
            return
        walked = ""
        for part in parent.split("/"):
            walked = f"{walked}/{part}" if walked else part
            if walked in self.dirs:
                continue
            p = self.dest / walked
            if os.path.islink(p):
                raise _unsafe(f"{rel!r} would be written through the symlink {walked!r}")
            if p.exists() and not p.is_dir():
                raise _unsafe(f"{rel!r} would be written below the file {walked!r}")
            p.mkdir(mode=0o755, exist_ok=True)
            self.dirs.add(walked)
            self.listing[walked] = DIR

    def _count(self, ti: tarfile.TarInfo, rel: str) -> None:
        self.files += 1
        if self.files > self.max_files:
            raise OtaError("bomb", f"archive holds more than {self.max_files} entries")
        if ti.isreg() and self.bytes + ti.size > self.max_bytes:
            raise OtaError(
                "bomb", f"{rel!r} would take the slot beyond {self.max_bytes} bytes (size bomb?)"
            )

    def member(self, tar: tarfile.TarFile, ti: tarfile.TarInfo, on_chunk) -> None:
        rel = _clean_name(ti.name)
        if ti.ischr() or ti.isblk():
            raise _unsafe(f"device node {ti.name!r}")
        if ti.isfifo():
            raise _unsafe(f"FIFO {ti.name!r}")
        if rel is None:
            if ti.isdir():
                return
            raise _unsafe(f"member without a name {ti.name!r}")
        self._count(ti, rel)
        if ti.isdir():
            self._parent(rel + "/x")
        elif ti.issym():
            self._symlink(rel, ti.linkname)
        elif ti.islnk():
            self._hardlink(rel, ti.linkname)
        elif ti.isreg() and not ti.issparse():
            self._regular(tar, ti, rel, on_chunk)
        else:
            raise _unsafe(f"unsupported member type {ti.type!r} for {ti.name!r}")

    def _regular(self, tar: tarfile.TarFile, ti: tarfile.TarInfo, rel: str, on_chunk) -> None:
        self._parent(rel)
        target = self.dest / rel
        mode = 0o755 if ti.mode & 0o100 else 0o644
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(target, flags, mode)
        except FileExistsError:
            raise _unsafe(f"duplicate member {rel!r}") from None
        src = tar.extractfile(ti)
        assert src is not None
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb", buffering=0) as out:
            while block := src.read(CHUNK):
                size += len(block)
                self.bytes += len(block)
                if self.bytes > self.max_bytes:  # what actually arrives, not the header
                    raise OtaError("bomb", f"archive expands beyond {self.max_bytes} bytes")
                digest.update(block)  # the bytes written are the bytes hashed: one pass
                view = memoryview(block)
                while view:
                    view = view[out.write(view) :]
                on_chunk()
        self.regular.add(rel)
        self.written.append(target)
        self.listing[rel] = Entry("f", size, digest.hexdigest())

    def _symlink(self, rel: str, link: str) -> None:
        if not link or link.startswith("/"):
            raise _unsafe(f"symlink {rel!r} -> {link!r} points outside the slot")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), link))
        if resolved == ".." or resolved.startswith("../"):
            raise _unsafe(f"symlink {rel!r} -> {link!r} points outside the slot")
        self._parent(rel)
        try:
            os.symlink(link, self.dest / rel)
        except FileExistsError:
            raise _unsafe(f"duplicate member {rel!r}") from None
        self.symlinks.append(rel)
        self.listing[rel] = Entry("l", target=link)  # to_dir is known once all exist

    def _hardlink(self, rel: str, link: str) -> None:
        src = _clean_name(link)
        if src is None or src not in self.regular:
            raise _unsafe(f"hardlink {rel!r} -> {link!r} does not name a file of this archive")
        self._parent(rel)
        try:
            os.link(self.dest / src, self.dest / rel, follow_symlinks=False)
        except FileExistsError:
            raise _unsafe(f"duplicate member {rel!r}") from None
        self.regular.add(rel)
        self.listing[rel] = self.listing[src]

    def finish(self) -> None:
        # Link chains can only be judged once every member exists.
        for rel in self.symlinks:
            real = os.path.realpath(self.dest / rel)
            if not _within(self.root, real):
                raise _unsafe(f"symlink {rel!r} resolves outside the slot")
            if os.path.isdir(real):  # a walk of the slot lists it with the directories
                self.listing[rel] = Entry("l", target=self.listing[rel].target, to_dir=True)
        for path in self.written:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for d in sorted(self.dirs, key=lambda s: -s.count("/")):
            fsync_dir(self.dest / d if d else self.dest)
        fsync_dir(self.dest.parent)


def _empty(dest: Path, created: bool) -> None:
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def safe_extract(
    archive: Path,
    dest: Path,
    *,
    max_bytes: int,
    max_files: int,
    progress: Progress | None = None,
) -> Listing:
    """Extract a tar(.gz) into dest (absent or empty); on any refusal dest is left empty.

    Returns the listing of what was extracted, each file hashed while it was written:
    `listing_digest(...)` of it equals `content_digest(dest)`. progress(done, total) counts
    archive bytes consumed. Raises OtaError(unsafe_archive|bomb).
    """
    archive, dest = Path(archive), Path(dest)
    created = not dest.exists()
    if not created and (not dest.is_dir() or dest.is_symlink() or any(dest.iterdir())):
        raise FileExistsError(f"{dest}: extraction needs an absent or empty directory")
    total = archive.stat().st_size
    dest.mkdir(parents=True, exist_ok=True)
    ex = _Extractor(dest, max_bytes, max_files)
    try:
        with open(archive, "rb") as raw_file:
            raw = _Counting(raw_file)
            with open(archive, "rb") as probe:
                gz = probe.read(2) == b"\x1f\x8b"
            stream = _Gunzip(raw) if gz else raw
            limit = max_bytes + FIXED_OVERHEAD + PER_MEMBER_OVERHEAD * (max_files + 2)
            counted = _Counting(stream, limit)  # type: ignore[arg-type]

            def on_chunk() -> None:
                if progress:
                    progress(raw.count, total)

            with tarfile.open(fileobj=counted, mode="r|", bufsize=CHUNK) as tar:  # type: ignore[call-overload]
                first = True
                for ti in tar:
                    ex.member(tar, ti, on_chunk)
                    on_chunk()
                    if first:
                        fault_point("ota.mid_extract")
                        first = False
        ex.finish()
        if progress:
            progress(total, total)
        return ex.listing
    except (tarfile.TarError, zlib.error, EOFError) as exc:
        _empty(dest, created)
        raise _unsafe(f"corrupt or truncated archive ({exc})") from None
    except BaseException:
        _empty(dest, created)
        raise
