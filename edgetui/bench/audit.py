"""`edgetui bench audit`: the cost of one audit record (hash chain, flock, write, fsync)
against a bare fsynced append of the same bytes, in the same run and directory.

`measure_append` is the hook `edgetui bench security` calls for its "audit append cost"."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edgetui.cli.context import EXIT_OK, EXIT_USAGE, CommandError, Context, print_json
from edgetui.security import AuditLog, DeviceKey

WHO = {"uid": 1000, "user": "ann", "role": "operator", "via": "cli", "pid": 4242}
WHAT = {"method": "ota.apply", "params": {"manifest": "https://ota.example/updates/manifest.json"}}
RESULT = {"ok": True, "result": "committed"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit record append cost vs a bare fsynced append")
    p.add_argument("--records", type=int, default=500, help="records per round")
    p.add_argument("--rounds", type=int, default=5, help="rounds per variant (median reported)")
    p.add_argument("--dir", metavar="DIR", help="where to write (default: a temp dir)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)


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


def measure_append(workdir: Path, records: int = 500, rounds: int = 5) -> dict[str, Any]:
    """Median µs per audit append and per bare fsynced append of a same-sized line (taking
    turns, which goes first alternating), the head signature's cost, and the ratio."""
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
    audit_us, bare_us, sign_ms = [], [], []
    for r in range(rounds):
        order = ("audit", "bare") if r % 2 == 0 else ("bare", "audit")
        for variant in order:
            path = workdir / f"{variant}-{r}.log"
            if variant == "audit":
                elapsed, signed = _audit(path, key, records)
                audit_us.append(elapsed / records * 1e6)
                sign_ms.append(signed * 1e3)
            else:
                bare_us.append(_bare(path, line, records) / records * 1e6)
            path.unlink(missing_ok=True)
    audit_med, bare_med = statistics.median(audit_us), statistics.median(bare_us)
    # The same without fsync: what the chain itself (JSON, SHA-256, flock, fstat) costs.
    cpu_audit, cpu_bare = [], []
    for r in range(rounds):
        path = workdir / f"nofsync-{r}.log"
        cpu_audit.append(_audit(path, key, records, fsync=False)[0] / records * 1e6)
        path.unlink(missing_ok=True)
        cpu_bare.append(_bare(path, line, records, fsync=False) / records * 1e6)
        path.unlink(missing_ok=True)
    return {
        "audit_append_nofsync_us": round(statistics.median(cpu_audit), 1),
        "bare_append_nofsync_us": round(statistics.median(cpu_bare), 1),
        "records": records,
        "rounds": rounds,
        "record_bytes": len(line),
        "audit_append_us": round(audit_med, 1),
        "bare_append_us": round(bare_med, 1),
        "ratio": round(audit_med / bare_med, 3),
        "overhead_us": round(audit_med - bare_med, 1),
        "sign_head_ms": round(statistics.median(sign_ms), 3),
        "audit_per_round_us": [round(x, 1) for x in audit_us],
        "bare_per_round_us": [round(x, 1) for x in bare_us],
    }


def cmd_bench(ctx: Context) -> int:
    if ctx.args.records < 1 or ctx.args.rounds < 1:
        raise CommandError("--records and --rounds must be at least 1", code=EXIT_USAGE)
    base = Path(ctx.args.dir) if ctx.args.dir else None
    work = Path(tempfile.mkdtemp(prefix="edgetui-bench-audit-", dir=base))
    try:
        out = measure_append(work, ctx.args.records, ctx.args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if ctx.args.json:
        print_json(out)
        return EXIT_OK
    print(
        f"bench audit: {out['records']} records x {out['rounds']} rounds, "
        f"{out['record_bytes']} bytes per record, fsync each"
    )
    print(f"audit append (chain+flock+write+fsync)  {out['audit_append_us']:>9.1f} us")
    print(f"bare append (write+fsync, same bytes)   {out['bare_append_us']:>9.1f} us")
    print(f"audit / bare: {out['ratio']:.3f}x  (+{out['overhead_us']:.1f} us per record)")
    print(
        f"without fsync: audit {out['audit_append_nofsync_us']:.1f} us, bare write "
        f"{out['bare_append_nofsync_us']:.1f} us (the chain's own cost)"
    )
    print(f"sign the head (Ed25519 + durable write)  {out['sign_head_ms']:>8.3f} ms")
    return EXIT_OK
