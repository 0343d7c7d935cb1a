"""`edgetui bench fleet --devices N`: the fleet's ingest against a bare paho subscriber.

N simulated devices (`edgetui fleet simulate`, its own process) publish telemetry every
`--interval` s to a local mosquitto. Over the same window, the fleet ingest process
(`edgetui fleet ingest`, into a SQLite fleet store) and a bare paho subscriber on the same
topics (it only counts) each receive every message; the bench reports each one's rate, CPU
and peak RSS, the broker's and the simulator's CPU. Then it measures the console's redraw
with every device in the table (headless, 160x48). Then (unless --no-rollout) the
rollout half, fleet_rollout.py: the simulated fleet has 2% of devices failing their update's
health check and 5% going offline now and then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.bench import fleet_rollout
from edgetui.bench.broker import LocalBroker, find_mosquitto, stop_process
from edgetui.bench.harness import Goal, Load, compare, load_average
from edgetui.bench.pty_proc import measure
from edgetui.bench.report import report
from edgetui.cli.context import Context, command
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK

GOAL_CPU = 25.0  # % of one core for the ingest of the whole fleet
GOAL_REDRAW_MS = 50.0
# mosquitto's default keeps 1000 QoS 1 messages queued per subscriber beyond those in flight
# and silently drops the rest: when a wave of thousands of devices answers at once (each a
# result and a telemetry message within a second) the ingest's queue overflows and results
# are lost (devices stay IN_PROGRESS in the store for good). A fleet's broker needs no cap.
BROKER_CONF = ("max_queued_messages 0",)


def register(sub: argparse._SubParsersAction) -> None:
    p = command(
        sub, "fleet", cmd_bench_fleet, help="fleet ingest CPU/RSS vs a bare paho subscriber"
    )
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--interval", type=float, default=10.0, help="telemetry interval, s")
    p.add_argument("--seconds", type=float, default=60.0, help="measurement window")
    p.add_argument(
        "--store", default="", help="the ingest's fleet store (default: SQLite in a temp dir)"
    )
    p.add_argument(
        "--no-rollout", action="store_true", help="skip the rollout half (fleet_rollout.py)"
    )
    p.add_argument("--health-window", type=float, default=5.0, metavar="S")
    p.add_argument("--rollout-timeout", type=float, default=300.0, metavar="S")


class _Lines(threading.Thread):
    """Keeps the last stdout line of a child (its progress)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        super().__init__(daemon=True)
        self.proc, self.last = proc, ""
        self.start()

    def run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.last = line.strip()


def _spawn(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _wait(pred: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds of each process so far (all its threads)."""
    import psutil

    out = {}
    for name, pid in pids.items():
        try:
            t = psutil.Process(pid).cpu_times()
            out[name] = t.user + t.system
        except psutil.Error:
            out[name] = 0.0
    return out


def _raw_rows(store: Any) -> int:
    return int(store.summary().telemetry_rows["raw"])


async def _console_redraws(store: Any, rounds: int = 30) -> dict[str, float]:
    """Milliseconds for the console (160x48) to redraw with every device of the store in its
    table: `full` re-filters and re-sorts every row and paints the screen (what a tick with
    changes does); `repaint` paints with fresh times only (a tick without changes); `load`
    reads every row from the store (the first tick, in a thread)."""
    from edgetui.fleet.ui import FleetApp
    from edgetui.fleet.ui.table import DeviceTable

    app = FleetApp(store, refresh_s=3600)
    full, repaint = [], []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        rows = len(app.query_one(DeviceTable).rows)
        t0 = time.perf_counter()
        await asyncio.to_thread(store.devices)
        load = 1000 * (time.perf_counter() - t0)
        for dirty, out in ((True, full), (False, repaint)):
            for _ in range(rounds):
                t0 = time.perf_counter()
                app.redraw(changed=dirty)
                app.paint_now()
                out.append(1000 * (time.perf_counter() - t0))
                await pilot.pause()
    return {
        "rows": rows,
        "full_p50_ms": statistics.median(full),
        "full_max_ms": max(full),
        "repaint_p50_ms": statistics.median(repaint),
        "repaint_max_ms": max(repaint),
        "load_ms": load,
    }


@dataclass
class _Run:
    """The processes of one bench run: broker, ingest, bare subscriber, simulator."""

    broker: LocalBroker
    db: str
    key: Path
    fleet: subprocess.Popen[str]
    bare: subprocess.Popen[str]
    sim: subprocess.Popen[str]
    bare_lines: _Lines
    sim_lines: _Lines

    @property
    def procs(self) -> list[subprocess.Popen[str]]:
        return [self.fleet, self.bare, self.sim]

    def pids(self) -> dict[str, int]:
        return {
            "fleet ingest": self.fleet.pid,
            "bare paho": self.bare.pid,
            "mosquitto": self.broker.proc.pid,
            "simulator": self.sim.pid,
        }


@dataclass
class _Window:
    """What the steady-state window measured."""

    figures: list[Any]
    rates: dict[str, float]
    load: Load
    elapsed: float
    connect_s: float


def _start(args: argparse.Namespace, work: Path, broker: LocalBroker, procs: list[Any]) -> _Run:
    """Ingest and bare subscriber first (subscribed before any device speaks), then the
    simulator; every process is appended to `procs` as soon as it runs."""
    py = [sys.executable, "-m", "edgetui"]
    db = args.store or str(work / "fleet.db")
    fleet = _spawn([*py, "--state-dir", str(work), "fleet", "ingest", "--broker", broker.url,
                    "--store", db, "--name", "bench", "--json"])  # fmt: skip
    procs.append(fleet)
    bare = _spawn([sys.executable, "-m", "edgetui.bench.fleet_bare", broker.url])
    procs.append(bare)
    bare_lines = _Lines(bare)
    time.sleep(1.0)  # both subscribed before the devices say anything
    key, pub = fleet_rollout.make_key(work)
    sim = _spawn([*py, "fleet", "simulate", "--broker", broker.url,
                  "--devices", str(args.devices), "--telemetry-interval",
                  str(args.interval), "--json", "--trusted-key", str(pub),
                  "--fail-rate", "0.02", "--offline-rate", "0.05",
                  "--offline-for", str(2 * args.interval),
                  "--install-s", str(fleet_rollout.SIM_INSTALL_S),
                  "--health-s", str(fleet_rollout.SIM_HEALTH_S)])  # fmt: skip
    procs.append(sim)
    return _Run(broker, db, key, fleet, bare, sim, bare_lines, _Lines(sim))


def _all_connected(run: _Run, devices: int) -> bool:
    try:
        doc = json.loads(run.sim_lines.last)
        # The flaky devices (5%) may be offline right now.
        return doc["connected"] >= devices - doc["offline_now"]
    except (ValueError, KeyError):
        return False


def _ingest_window(args: argparse.Namespace, run: _Run, store: Any, connect_s: float) -> _Window:
    """CPU, RSS and rates of every process over one window in steady state."""
    load_start = load_average()
    rows0, bare0, t0 = _raw_rows(store), int(run.bare_lines.last or 0), time.monotonic()
    figures = measure(run.pids(), args.seconds, warmup=0.0)
    elapsed = time.monotonic() - t0
    rates = {
        "fleet ingest": (_raw_rows(store) - rows0) / elapsed,
        "bare paho": (int(run.bare_lines.last or 0) - bare0) / elapsed,
    }
    return _Window(figures, rates, Load(load_start, load_average()), elapsed, connect_s)


def _rollout_half(args: argparse.Namespace, run: _Run, work: Path) -> dict[str, Any]:
    """The rollouts (fleet_rollout.py), with every process's CPU over their span."""
    busy = {"runner (bench)": os.getpid(), **run.pids()}
    cpu0, t_roll = _cpu_seconds(busy), time.monotonic()
    rollouts = fleet_rollout.rollout_phase(
        run.db, run.broker.url, work, run.key, args.health_window, args.rollout_timeout
    )
    took = time.monotonic() - t_roll
    cpu1 = _cpu_seconds(busy)
    rollouts["seconds"] = round(took, 1)
    rollouts["cpu_percent"] = {n: round(100.0 * (cpu1[n] - cpu0[n]) / took, 2) for n in busy}
    return rollouts


def cmd_bench_fleet(ctx: Context) -> int:
    from edgetui.fleet import open_store

    args = ctx.args
    exe = find_mosquitto()
    if exe is None:
        print("edgetui: bench fleet needs mosquitto (make mosquitto)", file=sys.stderr)
        return EXIT_ERROR
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-fleet-") as tmp:
        work = Path(tmp)
        broker = LocalBroker(work, exe, BROKER_CONF)
        procs: list[subprocess.Popen[str]] = []
        try:
            run = _start(args, work, broker, procs)
            t_connect = time.monotonic()
            if not _wait(lambda: _all_connected(run, args.devices), 600):
                print(f"edgetui: simulator did not connect: {run.sim_lines.last}", file=sys.stderr)
                return EXIT_ERROR
            connect_s = time.monotonic() - t_connect
            time.sleep(args.interval + 2)  # one whole interval: steady state
            store = open_store(run.db, work)
            window = _ingest_window(args, run, store, connect_s)
            rollouts = None if args.no_rollout else _rollout_half(args, run, work)
            for p in procs:
                stop_process(p)
            procs.clear()
            console = asyncio.run(_console_redraws(store))
            summary = store.summary()
            store.close()
        finally:
            for p in procs:
                stop_process(p)
            broker.stop()
    return _report_fleet(args, window, rollouts, console, summary)


def _report_fleet(
    args: argparse.Namespace,
    w: _Window,
    rollouts: dict[str, Any] | None,
    console: dict[str, float],
    summary: Any,
) -> int:
    by = {f.name: f for f in w.figures}
    # Over the same window, side by side (one sample each: the processes run at once).
    labels = ("fleet ingest", "bare paho")
    rate, cpu = (
        compare([w.rates[labels[0]]], [w.rates[labels[1]]], name="ingest / bare paho, rate",
                labels=labels, unit="msg/s", load=w.load),
        compare([by[labels[0]].cpu_percent], [by[labels[1]].cpu_percent],
                name="ingest / bare paho, CPU", labels=labels, unit="% of a core", load=w.load,
                goal=Goal("<=", GOAL_CPU, of="candidate")),
    )  # fmt: skip
    expected = args.devices / args.interval
    doc = {
        "devices": args.devices,
        "interval_s": args.interval,
        "window_s": w.elapsed,
        "connect_s": w.connect_s,
        "expected_rate": expected,
        "devices_in_store": summary.devices,
        "processes": [{**f.__dict__, "rate": w.rates.get(f.name)} for f in w.figures],
        "ingest_vs_bare": {"rate": rate.ratio, "cpu": cpu.ratio},
        "console": console,
        "rollouts": rollouts,
        "goals": {
            "ingest_cpu_percent": GOAL_CPU,
            "ingest_cpu_met": bool(cpu.met) and summary.devices >= args.devices,
            "redraw_ms": GOAL_REDRAW_MS,
            "redraw_met": console["full_p50_ms"] < GOAL_REDRAW_MS,
            "halt_within_health_window": (rollouts or {}).get("halt", {}).get("halt_within_window"),
        },
    }
    title = (
        f"bench fleet: {args.devices} simulated devices, telemetry every {args.interval:g} s "
        f"(expected {expected:.0f} msg/s), {w.elapsed:.0f} s window, {summary.engine} store; "
        f"all connected in {w.connect_s:.1f} s"
    )
    lines = [f"{'process':<14} {'msg/s':>8} {'CPU % of a core':>16} {'peak RSS MB':>12}"]
    for f in w.figures:
        shown = f"{w.rates[f.name]:8.1f}" if f.name in w.rates else " " * 8
        lines.append(f"{f.name:<14} {shown} {f.cpu_percent:>16.2f} {f.peak_rss_mb:>12.1f}")
    lines.append(f"{summary.devices} devices in the fleet store")
    met = "meets" if doc["goals"]["redraw_met"] else "misses"
    lines.append(
        f"console, {console['rows']} rows at 160x48: redraw (filter, sort, paint) p50 "
        f"{console['full_p50_ms']:.1f} ms, max {console['full_max_ms']:.1f} ms ({met} the goal "
        f"of < {GOAL_REDRAW_MS:.0f} ms); repaint only p50 {console['repaint_p50_ms']:.1f} ms; "
        f"reading all rows {console['load_ms']:.0f} ms (first tick, in a thread)"
    )
    report([rate, cpu], as_json=args.json, title=title, figures=doc, lines=lines)
    if not args.json and rollouts is not None:
        fleet_rollout.print_rollouts(rollouts)
    return EXIT_OK
