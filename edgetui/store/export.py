"""NDJSON export of the backlog, for a technician carrying it home on a USB stick."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from edgetui.durable import fsync_dir
from edgetui.models.buffer import OutboxRow


def export_rows(rows: list[OutboxRow], out: Path) -> int:
    """Write one line per row ({kind, seq, id, enqueued_at, message}) to `out` via a temp
    file, fsync and rename; returns the file size. Blocking: run it in a thread."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as fh:
        for r in rows:
            when = datetime.fromtimestamp(r.created, UTC).isoformat(timespec="milliseconds")
            head = json.dumps(
                {
                    "kind": r.kind,
                    "seq": r.seq,
                    "id": r.id,
                    "enqueued_at": when.replace("+00:00", "Z"),
                },
                separators=(",", ":"),
            )
            fh.write(head[:-1].encode() + b',"message":' + r.wire + b"}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    fsync_dir(out.parent)
    return out.stat().st_size
