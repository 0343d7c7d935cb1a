"""`edgetui bench tui`: the dashboard attached to a daemon, against glances, same terminal."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from edgetui.bench.pty_proc import ProcFigures, PtyProcess, measure, which
from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK
from edgetui.control import socket_answers, socket_path


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "tui", cmd_bench_tui, help="dashboard and daemon CPU/RSS vs glances -t 1")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--cols", type=int, default=160)
    p.add_argument("--rows", type=int, default=48)


def _wait_socket(path: Path, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if socket_answers(path):
            return True
        time.sleep(0.1)
    return False


def cmd_bench_tui(ctx: Context) -> int:
    args = ctx.args
    exe = [sys.executable, "-m", "edgetui"]
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-") as tmp:
        state = Path(tmp)
        cfg = state / "bench.toml"
        cfg.write_text("[telemetry]\ninterval_s = 1.0\n")
        base = [*exe, "--config", str(cfg), "--state-dir", str(state)]
        daemon = PtyProcess([*base, "daemon"], args.cols, args.rows)
        try:
            if not _wait_socket(socket_path(state)):
                print("edgetui: daemon did not start", file=sys.stderr)
                return EXIT_ERROR
            idle = measure({"daemon (idle)": daemon.proc.pid}, min(args.seconds, 10.0), 1.0)
            dash = PtyProcess(base, args.cols, args.rows)
            try:
                figures = measure(
                    {"dashboard": dash.proc.pid, "daemon": daemon.proc.pid}, args.seconds
                )
            finally:
                dash.stop()
        finally:
            daemon.stop()
    figures = idle + figures
    glances: ProcFigures | None = None
    glances_bin = which("glances")
    if glances_bin:
        g = PtyProcess([glances_bin, "-t", "1"], args.cols, args.rows)
        try:
            glances = measure({"glances -t 1": g.proc.pid}, args.seconds)[0]
        finally:
            g.stop()
        figures.append(glances)
    dash_fig = next(f for f in figures if f.name == "dashboard")
    ratio = dash_fig.cpu_percent / glances.cpu_percent if glances and glances.cpu_percent else None
    if args.json:
        print_json(
            {
                "terminal": f"{args.cols}x{args.rows}",
                "refresh_s": 1.0,
                "seconds": args.seconds,
                "processes": [f.__dict__ for f in figures],
                "dashboard_vs_glances_cpu": ratio,
            }
        )
        return EXIT_OK
    print(f"bench tui: {args.cols}x{args.rows} pty, 1 s refresh, {args.seconds:.0f} s window")
    print(f"{'process':<16} {'CPU % of a core':>16} {'peak RSS MB':>12}")
    for f in figures:
        print(f"{f.name:<16} {f.cpu_percent:>16.2f} {f.peak_rss_mb:>12.1f}")
    if ratio is not None:
        print(f"dashboard / glances CPU: {ratio:.2f}x (goal <= 0.75x)")
    else:
        print("glances not installed: no baseline ratio (pip install glances to get one)")
    return EXIT_OK
