"""SIGKILL at any instant: a message whose enqueue returned is never lost, and none is
half-written (integrity check, every row decodes)."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.support.cli import ROOT, env

WRITER = r"""
import asyncio, sys
from pathlib import Path
from edgetui.config import StoreConfig
from edgetui.store.outbox import Outbox

async def main():
    ob = Outbox(StoreConfig(max_messages=10**6), Path(sys.argv[1]))
    await ob.start()
    i = 0
    while True:
        if i % 3:
            r = await ob.enqueue("telemetry", {"i": i, "pad": "x" * (i % 700)})
            print(r.seq, flush=True)
        else:
            rs = await ob.enqueue_many([("log", {"i": i, "j": j}) for j in range(7)])
            print(" ".join(str(r.seq) for r in rs), flush=True)
        i += 1

asyncio.run(main())
"""


def test_sigkill_while_enqueueing_loses_no_committed_message(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(4)
    committed: set[int] = set()
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            stdout=subprocess.PIPE,
            text=True,
            env=env(),
            cwd=ROOT,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # started and committing
        assert first.strip(), "writer did not start"
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        for line in (first + out).splitlines():
            committed.update(int(x) for x in line.split())
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = con.execute("SELECT seq, payload FROM outbox ORDER BY seq").fetchall()
    con.close()
    stored = [seq for seq, _ in rows]
    for _, payload in rows:
        json.loads(payload)  # nothing half-written
    assert committed <= set(stored), sorted(committed - set(stored))[:10]
    # seq grows by one per message ever enqueued: no gaps, no reuse.
    assert stored == list(range(1, len(stored) + 1))
