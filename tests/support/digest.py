"""Counting the reads behind sha256_file, to prove a file is hashed once where that matters."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from edgetui import file_digest


class DigestReads:
    """How many times sha256_file really read each file (keyed by real path)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def of(self, path: Path) -> int:
        return self.counts[os.path.realpath(path)]


@pytest.fixture
def digest_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[DigestReads]:
    """Counts sha256_file's reads per file, starting from an empty memo.

    The clock sha256_file compares ctimes with is moved 10 s ahead, as if the files the test
    has just written had been written a while ago: their digests may then be remembered
    (a file changed in the very tick it is hashed in never is; test_file_digest covers that).
    """
    reads = DigestReads()
    real = file_digest._read_digest

    def counting(f: BinaryIO, chunk: int) -> str:
        reads.counts[os.path.realpath(f.name)] += 1
        return real(f, chunk)

    file_digest.forget()
    monkeypatch.setattr(file_digest, "_read_digest", counting)
    monkeypatch.setattr(file_digest, "_now_ns", lambda: time.time_ns() + 10_000_000_000)
    yield reads
    file_digest.forget()  # what was remembered under the moved clock stays in this test
