"""NDJSON export of the backlog, for a technician carrying it home on a USB stick."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

from edgetui.durable import fsync_dir
from edgetui.models.buffer import OutboxRow
from edgetui.models.clock import rfc3339


def export_rows(
    rows: list[OutboxRow], out: Path, key_of: Callable[[bytes], str] | None = None
) -> int:
    """Write one line per row ({kind, seq, id, enqueued_at, message}) to `out` via a temp
    file, fsync and rename; returns the file size. Blocking: run it in a thread.

    A row still sealed is written as `"sealed": {"alg": "AES-256-GCM", "key_id", "data"}`
    (`data`: the base64 sealed payload; its associated data is the row's seq, class and
    time, see edgetui/store/sealed.py) instead of `"message"`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as fh:
        for r in rows:
            head = json.dumps(
                {
                    "kind": r.kind,
                    "seq": r.seq,
                    "id": r.id,
                    "enqueued_at": rfc3339(r.created),
                },
                separators=(",", ":"),
            )
            if r.sealed is not None:
                sealed = {
                    "alg": "AES-256-GCM",
                    "created": r.created,  # the exact time in the associated data
                    "key_id": key_of(r.sealed) if key_of is not None else None,
                    "data": base64.b64encode(r.sealed).decode(),
                }
                body = b',"sealed":' + json.dumps(sealed, separators=(",", ":")).encode()
                fh.write(head[:-1].encode() + body + b"}\n")
            else:
                fh.write(head[:-1].encode() + b',"message":' + r.wire + b"}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    fsync_dir(out.parent)
    return out.stat().st_size
