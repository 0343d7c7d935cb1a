"""`edgetui bench audit`: the cost of one audit record (hash chain, flock, write, fsync)
against a bare fsynced append of the same bytes, in the same run and directory.

`append_comparisons` is what `edgetui bench security` reports as its "audit append cost";
`measure_append` gives the same figures as one flat dict."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.audit import AuditLog, DeviceKey
from edgetui.bench.harness import Comparison, run_rounds
from edgetui.bench.report import report
from edgetui.cli.context import Context, command
from edgetui.cli.exits import EXIT_OK, EXIT_USAGE, CommandError

WHO = {"uid": 1000, "user": "ann", "role": "operator", "via": "cli", "pid": 4242}
WHAT = {"method": "ota.apply", "params": {"manifest": "https://ota.example/updates/manifest.json"}}
RESULT = {"ok": True, "result": "committed"}


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "audit", cmd_bench, help="audit record append cost vs a bare fsynced append")
    p.add_argument("--records", type=int, default=500, help="records per round")
    p.add_argument("--rounds", type=int, default=5, help="rounds per variant (median reported)")
    p.add_argument("--dir", metavar="DIR", help="where to write (default: a temp dir)")


def _bare(path: Path, line: bytes, n: int, fsync: bool = True) -> float:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            os.write(fd, line)
            if fsync:
                os.fsync(fd)
        return time.perf_counter() - t0
    finally:
        os.close(fd)


def _audit(path: Path, key: DeviceKey, n: int, fsync: bool = True) -> tuple[float, float]:
    log = AuditLog(path, key=key, device_id="bench")
    log.fsync = fsync
    log.open()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            log.append(WHO, WHAT, RESULT)
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        log.sign_head()
        return elapsed, time.perf_counter() - t1
    finally:
        log.close()


def append_comparisons(
    workdir: Path, records: int = 500, rounds: int = 5
) -> tuple[list[Comparison], dict[str, Any]]:
    """µs per audit append against a bare append of a same-sized line, in turns: fsynced,
    then both without the fsync (what the chain itself costs: JSON, SHA-256, flock, fstat);
    and the figures beside them (the head signature's cost, the record's size)."""
    workdir = Path(workdir)
    key = DeviceKey.load_or_create(workdir / "keys")
    sample = {
        "v": 1,
        "seq": 1,
        "time": "2026-05-06T14:30:00.000Z",
        "who": WHO,
        "what": WHAT,
        "result": RESULT,
        "prev": "0" * 64,
        "hash": "0" * 64,
    }
    line = json.dumps(sample, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    sign_ms: list[float] = []
    current = [0]

    def side(variant: str, fsync: bool) -> Callable[[], float]:
        def run() -> float:
            path = workdir / f"{variant}-{'' if fsync else 'nofsync-'}{current[0]}.log"
            try:
                if variant == "audit":
                    elapsed, signed = _audit(path, key, records, fsync)
                    if fsync:
                        sign_ms.append(signed * 1e3)
                else:
                    elapsed = _bare(path, line, records, fsync)
            finally:
                path.unlink(missing_ok=True)
            return elapsed / records * 1e6

        return run

    out = []
    for fsync, name in ((True, "append with fsync"), (False, "append without fsync")):
        timed = run_rounds(
            {"audit": side("audit", fsync), "bare": side("bare", fsync)},
            rounds=rounds,
            measure="result",  # each side times its appends only
            before_round=lambda i: current.__setitem__(0, i),
        )
        labels = ("audit record (chain+flock+write)", "bare write (same bytes)")
        out.append(timed.compare("audit", "bare", name=f"audit {name}", labels=labels, unit="us"))
    figures = {"records": records, "rounds": rounds, "record_bytes": len(line),
               "sign_head_ms": round(statistics.median(sign_ms), 3)}  # fmt: skip
    return out, figures


def measure_append(workdir: Path, records: int = 500, rounds: int = 5) -> dict[str, Any]:
    """The figures of `append_comparisons` as one flat dict (`append_figures`)."""
    return append_figures(*append_comparisons(workdir, records, rounds))


def append_figures(comparisons: list[Comparison], figures: dict[str, Any]) -> dict[str, Any]:
    """Median µs per audit append and per bare append (fsynced, and without the fsync), the
    ratio and the overhead, beside `figures`, as one flat dict."""
    synced, nofsync = comparisons
    assert synced.candidate_value is not None and synced.baseline_value is not None
    return {
        **figures,
        "audit_append_nofsync_us": round(nofsync.candidate_value or 0.0, 1),
        "bare_append_nofsync_us": round(nofsync.baseline_value or 0.0, 1),
        "audit_append_us": round(synced.candidate_value, 1),
        "bare_append_us": round(synced.baseline_value, 1),
        "ratio": round(synced.ratio or 0.0, 3),
        "overhead_us": round(synced.candidate_value - synced.baseline_value, 1),
        "audit_per_round_us": [round(x, 1) for x in synced.candidate_samples],
        "bare_per_round_us": [round(x, 1) for x in synced.baseline_samples],
    }


def cmd_bench(ctx: Context) -> int:
    if ctx.args.records < 1 or ctx.args.rounds < 1:
        raise CommandError("--records and --rounds must be at least 1", code=EXIT_USAGE)
    base = Path(ctx.args.dir) if ctx.args.dir else None
    work = Path(tempfile.mkdtemp(prefix="edgetui-bench-audit-", dir=base))
    try:
        comparisons, figures = append_comparisons(work, ctx.args.records, ctx.args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    synced = comparisons[0]
    figures.update(
        audit_append_us=synced.candidate_value,
        bare_append_us=synced.baseline_value,
        ratio=synced.ratio,
    )
    title = (
        f"bench audit: {figures['records']} records x {figures['rounds']} rounds, "
        f"{figures['record_bytes']} bytes per record"
    )
    lines = [f"sign the head (Ed25519 + durable write)  {figures['sign_head_ms']:>8.3f} ms"]
    report(comparisons, as_json=ctx.args.json, title=title, figures=figures, lines=lines)
    return EXIT_OK
