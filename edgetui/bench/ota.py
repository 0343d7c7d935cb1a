"""`edgetui bench ota`: the device-side OTA pipeline against curl + sha256sum + tar, same run.

A bundle of random content is served by an http.server thread on 127.0.0.1. The pipeline
(fetch manifest, verify signature, download with streaming sha256, safe extraction with
fsync into a slot directory) and the baseline (curl download, sha256sum, tar -x of the
same file) each run --runs times, in turns (the order rotates); medians are reported, the
ratios of the median total times.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from edgetui.bench.harness import Goal, run_rounds
from edgetui.bench.report import add_bench, report
from edgetui.cli.context import Context
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK
from edgetui.keys import generate_keypair
from edgetui.ota.bundle import build_bundle
from edgetui.ota.errors import OtaError
from edgetui.ota.extract import safe_extract
from edgetui.ota.fetch import download, fetch_manifest, resolve_package_url
from edgetui.ota.manifest import check_applicable, parse_manifest, verify_manifest

GOAL = 1.25
MB = 1 << 20


HELP = "OTA download+verify+extract vs curl+sha256sum+tar"
OPTIONS = """
    --size-mb 100   random content size (default 100)
    --runs 3        runs of each pipeline (median)
"""


def register(sub: argparse._SubParsersAction) -> None:
    add_bench(sub, "ota", HELP, cmd_bench_ota, OPTIONS)


class _Handler(BaseHTTPRequestHandler):
    root: Path

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = (self.root / self.path.lstrip("/").split("?")[0]).resolve()
        if not path.is_file() or not path.is_relative_to(self.root):
            self.send_error(404)
            return
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.flush()
        with open(path, "rb") as f:
            self.connection.sendfile(f)  # zero-copy, GIL released: the server stays cheap


@contextlib.contextmanager
def _serve(root: Path) -> Iterator[str]:
    handler = type("H", (_Handler,), {"root": root.resolve()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _make_release(work: Path, size_mb: int) -> tuple[Path, Path]:
    src = work / "src"
    (src / "model").mkdir(parents=True)
    (src / "agents").mkdir()
    (src / "agents" / "sensor.py").write_text("async def run(ctx):\n    pass\n")
    # One valid case: `bundle build` refuses a golden file a device could not run.
    (src / "golden.json").write_text('[{"event": {"type": "MOTION_DETECTED"}}]\n')
    with open(src / "model" / "bench.gguf", "wb") as f:
        for _ in range(size_mb):
            f.write(os.urandom(MB))
    key, pub = generate_keypair(work / "keys" / "bench")
    build_bundle(src, "2.0.0", key, work / "www", rollback_version="1.0.0")
    shutil.rmtree(src)  # the page cache should hold the package, not the source
    return work / "www" / "manifest.json", pub


def _timed(phases: dict[str, float], name: str, fn: Callable[[], object]) -> object:
    t0 = time.perf_counter()
    result = fn()
    phases[name] = time.perf_counter() - t0
    return result


def _edgetui_run(base: str, pub: Path, work: Path, size_mb: int) -> dict[str, float]:
    phases: dict[str, float] = {}
    url = base + "manifest.json"
    raw = _timed(phases, "fetch manifest", lambda: fetch_manifest(url, timeout=30))
    assert isinstance(raw, bytes)

    def verify():
        m = parse_manifest(raw)
        verify_manifest(m, [pub], [])
        check_applicable(m, installed_version="1.0.0", device_id="bench", device_type="bench")
        return m

    m = _timed(phases, "verify signature", verify)
    package = work / "dl" / "package.tar.gz"
    pkg_url = resolve_package_url(url, m.update_package_url)
    _timed(
        phases,
        "download+sha256",
        lambda: download(pkg_url, package, size=m.size, sha256=m.checksum, timeout=30),
    )
    slot = work / "slots" / "b"
    budget = size_mb * MB * 2 + 64 * MB
    _timed(
        phases,
        "extract+fsync",
        lambda: safe_extract(package, slot, max_bytes=budget, max_files=10_000),
    )
    return phases


def _updater_run(base: str, pub: Path, work: Path) -> dict[str, float]:
    """The device's full install (edgetui.ota.updater.Updater): check, then install to slot b.

    Phases are cut at the first progress report of each phase the Updater announces.
    """
    from edgetui.config import OtaConfig
    from edgetui.ota.slots import SlotStore
    from edgetui.ota.updater import Updater

    cfg = OtaConfig()
    cfg.trusted_keys = [str(pub)]
    updater = Updater(SlotStore(work / "state"), cfg, "bench", "bench")
    marks: list[tuple[str, float]] = []

    def progress(phase: str, _pct: float | None, _msg: str) -> None:
        if not marks or marks[-1][0] != phase:
            marks.append((phase, time.perf_counter()))

    t0 = time.perf_counter()
    offer = updater.fetch_offer(base + "manifest.json", "1.0.0")
    t1 = time.perf_counter()
    updater.install(offer, "b", progress)
    t2 = time.perf_counter()
    phases = {"check (fetch+verify)": t1 - t0}
    if marks:
        phases["install setup"] = marks[0][1] - t1
    for (name, start), (_, end) in zip(marks, [*marks[1:], ("end", t2)], strict=True):
        label = _PHASE_LABELS.get(name, name)
        phases[label] = phases.get(label, 0.0) + end - start
    return phases


# What each Updater phase covers up to the next one's first report (the sha256 is checked
# while downloading; "verify" is the state save and slot clearing after it).
_PHASE_LABELS = {"verify": "state+clear slot", "extract": "extract+digest+state"}


def _baseline_run(base: str, package_name: str, work: Path) -> tuple[dict[str, float], str]:
    phases: dict[str, float] = {}
    dest = work / "baseline.tar.gz"
    url = base + package_name
    if shutil.which("curl"):
        how = "curl"
        _timed(
            phases,
            "download",
            lambda: subprocess.run(["curl", "-sSf", "-o", str(dest), url], check=True),
        )
    else:
        how = "urllib"

        def fetch() -> None:
            with urllib.request.urlopen(url, timeout=30) as r, open(dest, "wb") as f:
                shutil.copyfileobj(r, f, MB)

        _timed(phases, "download", fetch)
    _timed(
        phases,
        "sha256sum",
        lambda: subprocess.run(["sha256sum", str(dest)], check=True, capture_output=True),
    )
    out = work / "baseline-x"
    out.mkdir()
    _timed(
        phases,
        "tar -x",
        lambda: subprocess.run(["tar", "-xzf", str(dest), "-C", str(out)], check=True),
    )
    return phases, how


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


class _Updater:
    """The full install as a side that may be missing: its first failure is kept and it is
    not run again (the device side may not be there yet); the pipelines go on."""

    def __init__(self) -> None:
        self.error: str | None = None

    def run(self, base: str, pub: Path, work: Path) -> dict[str, float] | None:
        if self.error is not None:
            return None
        try:
            return _updater_run(base, pub, work)
        except Exception as exc:
            self.error = f"{exc.__class__.__name__}: {exc}"
            return None


def _run_all(a: argparse.Namespace, work: Path, base: str, pub: Path, package: str) -> Any:
    """The pipeline, the baseline and the full install, `a.runs` rounds; the order rotates
    so that none always gets the warmer cache. Each round's directory goes before the next."""
    how = [""]
    updater = _Updater()
    run_dir = [work / "run"]

    def prepare(i: int) -> None:
        shutil.rmtree(run_dir[0], ignore_errors=True)
        run_dir[0] = work / f"run{i}"
        (run_dir[0] / "a").mkdir(parents=True)
        (run_dir[0] / "b").mkdir()

    def baseline() -> dict[str, float]:
        phases, how[0] = _baseline_run(base, package, run_dir[0] / "b")
        return phases

    rounds = run_rounds(
        {
            "edgetui": lambda: _edgetui_run(base, pub, run_dir[0] / "a", a.size_mb),
            "baseline": baseline,
            "updater": lambda: updater.run(base, pub, run_dir[0] / "c"),
        },
        rounds=a.runs,
        measure="result",  # each run's phases, timed by the run
        before_round=prepare,
    )
    shutil.rmtree(run_dir[0], ignore_errors=True)
    return rounds, how[0], updater.error


def cmd_bench_ota(ctx: Context) -> int:
    a = ctx.args
    if a.size_mb < 1 or a.runs < 1:
        print("edgetui: --size-mb and --runs must be at least 1")
        return EXIT_ERROR
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-ota-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        manifest, pub = _make_release(work, a.size_mb)
        build_s = time.perf_counter() - t0
        m = parse_manifest(manifest.read_bytes())
        with _serve(work / "www") as base:
            try:
                rounds, how, full_error = _run_all(a, work, base, pub, m.update_package_url)
            except (OtaError, subprocess.CalledProcessError, OSError) as exc:
                print(f"edgetui: bench ota failed: {exc}")
                return EXIT_ERROR
    total = Goal("<=", GOAL)
    comparisons = [
        rounds.compare("edgetui", "baseline", name="pipeline / baseline, total seconds",
                       labels=("edgetui.ota pipeline", f"{how} + sha256sum + tar -x"),
                       key=lambda r: sum(r.values()), unit="s", goal=total)
    ]  # fmt: skip
    mine = _median(rounds.results["edgetui"])
    base_p = _median(rounds.results["baseline"])
    full = rounds.results["updater"]
    apply = _median(full) if full_error is None else None
    if apply is not None:
        comparisons.append(
            rounds.compare("updater", "baseline", name="full install / baseline, total seconds",
                           labels=("edgetui.ota.updater.Updater", f"{how} + sha256sum + tar -x"),
                           key=lambda r: sum(r.values()), unit="s", goal=total)
        )  # fmt: skip
    mb = m.size / MB
    figures = {
        "package_bytes": m.size,
        "content_mb": a.size_mb,
        "runs": a.runs,
        "build_s": build_s,
        "measured": "edgetui.ota pipeline (fetch, verify, download, extract)",
        "edgetui_phases_s": mine,
        "edgetui_total_s": comparisons[0].candidate_value,
        "baseline": f"{how} + sha256sum + tar -x",
        "baseline_phases_s": base_p,
        "baseline_total_s": comparisons[0].baseline_value,
        "ratio": comparisons[0].ratio,
        "updater_phases_s": apply,
        "updater_total_s": comparisons[1].candidate_value if apply else None,
        "updater_ratio": comparisons[1].ratio if apply else None,
        "updater_error": full_error,
        "goal": GOAL,
    }
    title = (
        f"bench ota: {a.size_mb} MiB random content, package {mb:.1f} MiB, "
        f"http.server thread on 127.0.0.1, median of {a.runs} run(s) "
        f"(bundle built in {build_s:.1f} s)"
    )
    lines = [
        "measured: the edgetui.ota pipeline (fetch, verify, download, extract into a slot dir);",
        "          slot switch and health check are not part of this figure",
        f"{'edgetui phase':<22} {'seconds':>8} {'MiB/s':>8}",
    ]
    for k, v in mine.items():
        rate = f"{mb / v:8.0f}" if k in ("download+sha256", "extract+fsync") and v else " " * 8
        lines.append(f"  {k:<20} {v:>8.3f} {rate}")
    lines.append(f"{'baseline phase':<22} {'seconds':>8}  ({how} + sha256sum + tar -x, no fsync)")
    lines += [f"  {k:<20} {v:>8.3f} {mb / v if v else 0:8.0f}" for k, v in base_p.items()]
    if apply:
        lines.append(
            "full install through edgetui.ota.updater.Updater (check, download, state, "
            "extract, slot digest, switch):"
        )
        lines += [f"  {k:<20} {v:>8.3f}" for k, v in apply.items()]
    elif full_error:
        lines.append(f"full install through the Updater not measured: {full_error}")
    report(comparisons, as_json=a.json, title=title, figures=figures, lines=lines)
    return EXIT_OK
