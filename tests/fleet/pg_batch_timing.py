"""How long `store.apply` takes for alert transitions, command results and audit records
against a real PostgreSQL (Debian's package, started like the tests' server), set-based and
row by row (the set-based forms of those statements taken out again), and SQLite.

    .venv/bin/python -m tests.fleet.pg_batch_timing [--n 5000] [--repeat 3]

Not a test (no wall-clock assertions): it prints the figures the README quotes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from edgetui.fleet.messages import Update
from edgetui.fleet.store import FleetStore, open_store
from edgetui.fleet.store.sql import ALERT, ALERT_COUNTS, AUDIT, COMMAND, SqlFleetStore
from tests.fleet.payloads import T0, alert, result, updates
from tests.support.postgres import start_postgres


def batches(n: int, base: float) -> dict[str, list[Update]]:
    """`n` updates of each kind over n/10 devices, every key distinct (no coalescing)."""
    devs = [f"dev-{i:05d}" for i in range(max(1, n // 10))]
    alerts = updates(
        *(alert(devs[i % len(devs)], f"a{i}", "firing", "warning", base + i) for i in range(n))
    )
    commands = updates(
        *(result(devs[i % len(devs)], f"c{i}", "SUCCEEDED", base + i) for i in range(n))
    )
    audit = updates(
        *(
            (f"devices/{devs[i % len(devs)]}/audit", f'{{"seq": {i}, "event": "login"}}'.encode())
            for i in range(n)
        ),
        received=base,
    )
    return {"alerts": alerts, "commands": commands, "audit": audit}


def timed(store: FleetStore, n: int, repeat: int) -> dict[str, tuple[float, float]]:
    """The best (wall, client CPU) seconds of `repeat` applies of each kind."""
    best: dict[str, tuple[float, float]] = {}
    for r in range(repeat):
        for kind, batch in batches(n, T0 + r * 10 * n).items():
            t, c = time.perf_counter(), time.process_time()
            store.apply(batch, writer="timing", now=T0)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            old = best.get(kind, (1e9, 1e9))
            best[kind] = (min(old[0], wall), min(old[1], cpu))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    server = start_postgres()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, spec in (
                ("sqlite", str(Path(tmp) / "fleet.db")),
                ("postgresql set-based", server.create_db()),
                ("postgresql row by row", server.create_db()),
            ):
                store = open_store(spec, Path(tmp))
                assert isinstance(store, SqlFleetStore)
                if name.endswith("row by row"):  # pg8000's executemany, as before
                    for sql in (ALERT, ALERT_COUNTS, AUDIT, COMMAND):
                        del store._bulk[sql]
                try:
                    best = timed(store, a.n, a.repeat)
                finally:
                    store.close()
                figures = ", ".join(
                    f"{k} {w * 1000:.0f} ms ({c * 1000:.0f} ms CPU)" for k, (w, c) in best.items()
                )
                print(f"{name}: apply of {a.n} updates (best of {a.repeat}): {figures}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
