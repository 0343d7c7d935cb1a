"""sha256_file remembers the digest of an unchanged file, and never that of a changed one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from edgetui import file_digest
from edgetui.file_digest import sha256_file
from tests.support.digest import DigestReads


def test_an_unchanged_file_is_read_once(tmp_path: Path, digest_reads: DigestReads) -> None:
    f = tmp_path / "model.gguf"
    f.write_bytes(b"GGUF" * 100_000)
    want = hashlib.sha256(f.read_bytes()).hexdigest()
    assert sha256_file(f) == want
    assert sha256_file(tmp_path / "." / "model.gguf") == want  # another name, same file
    assert digest_reads.of(f) == 1


def test_a_same_size_change_with_mtime_put_back_is_read_again(
    tmp_path: Path, digest_reads: DigestReads
) -> None:
    f = tmp_path / "model.gguf"
    f.write_bytes(b"A" * 4096)
    sha256_file(f)
    before = os.stat(f)
    with open(f, "r+b") as out:  # same size, other bytes
        out.write(b"B")
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the mtime put back
    while os.stat(f).st_ctime_ns == before.st_ctime_ns:  # a coarse clock: next tick
        os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(f)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert sha256_file(f) == hashlib.sha256(b"B" + b"A" * 4095).hexdigest()
    assert digest_reads.of(f) == 2


def test_a_file_replaced_by_another_is_read_again(
    tmp_path: Path, digest_reads: DigestReads
) -> None:
    f = tmp_path / "model.gguf"
    f.write_bytes(b"A" * 4096)
    sha256_file(f)
    new = tmp_path / "new.gguf"
    new.write_bytes(b"B" * 4096)
    os.replace(new, f)
    assert sha256_file(f) == hashlib.sha256(b"B" * 4096).hexdigest()


def test_fresh_reads_the_bytes_whatever_the_stamps_say(
    tmp_path: Path, digest_reads: DigestReads
) -> None:
    f = tmp_path / "model.gguf"
    f.write_bytes(b"A" * 4096)
    assert sha256_file(f) == sha256_file(f, fresh=True)
    assert digest_reads.of(f) == 2


def test_a_file_changed_as_hashing_starts_is_not_remembered(
    tmp_path: Path, digest_reads: DigestReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change in the same clock tick as the last one may leave ctime as it was: until
    ctime is safely in the past, every hash reads the file."""
    f = tmp_path / "model.gguf"
    f.write_bytes(b"A" * 4096)
    changed = os.stat(f).st_ctime_ns
    monkeypatch.setattr(file_digest, "_now_ns", lambda: changed)
    sha256_file(f)
    sha256_file(f)
    assert digest_reads.of(f) == 2
    monkeypatch.setattr(file_digest, "_now_ns", lambda: changed + file_digest.SETTLE_NS)
    sha256_file(f)
    sha256_file(f)
    assert digest_reads.of(f) == 3


def test_the_memo_is_bounded(
    tmp_path: Path, digest_reads: DigestReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_digest, "MEMO_SIZE", 3)
    files = [tmp_path / f"f{i}" for i in range(4)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 10)
        sha256_file(f)
    sha256_file(files[-1])  # still remembered
    sha256_file(files[0])  # pushed out by the fourth
    assert [digest_reads.of(f) for f in files] == [2, 1, 1, 1]
