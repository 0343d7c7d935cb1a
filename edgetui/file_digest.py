"""The sha256 of a file, read in chunks: models, bundles, packages and slot contents."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: Path, *, chunk: int = CHUNK) -> str:
    """Hex sha256 of a file (blocking: call it off the event loop)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
