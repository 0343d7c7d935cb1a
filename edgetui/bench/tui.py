"""`edgetui bench tui`: the dashboard attached to a daemon, in its default and its
low-bandwidth mode, against htop, glances and btop (each one installed), all in the same kind
of pseudo-terminal over the same seconds: CPU, peak RSS, and the bytes written to the
terminal per second (what a serial line has to carry)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from edgetui.bench.pty_proc import ProcFigures, PtyProcess, measure, which
from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK
from edgetui.control import socket_answers, socket_path

WARMUP_S = 3.0  # start-up (the first full paint) is not the steady state a line carries
# The baselines, each at a 1 s refresh like the dashboard's default.
BASELINES = {
    "htop": ["htop", "-d", "10"],  # htop's delay is in tenths of a second
    "glances -t 1": ["glances", "-t", "1"],
    "btop": ["btop", "--utf-force"],
}


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "tui", cmd_bench_tui,
                help="dashboard CPU, RSS and terminal bytes/s vs htop, glances, btop")  # fmt: skip
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--cols", type=int, default=160)
    p.add_argument("--rows", type=int, default=48)


@dataclass
class Screenful:
    """One program's figures in the pty: its process tree's, and its output's rate."""

    figures: ProcFigures
    bytes_per_s: float


def _wait_socket(path: Path, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if socket_answers(path):
            return True
        time.sleep(0.1)
    return False


def _run(name: str, argv: list[str], args: argparse.Namespace) -> Screenful:
    """`argv` in a pty of the bench's size: after the warm-up, CPU, RSS and bytes/s."""
    p = PtyProcess(argv, args.cols, args.rows)
    try:
        time.sleep(WARMUP_S)
        before = p.bytes_out
        (fig,) = measure({name: p.proc.pid}, args.seconds, warmup=0.0)
        return Screenful(fig, (p.bytes_out - before) / fig.seconds)
    finally:
        p.stop()


def _edgetui(args: argparse.Namespace) -> list[Screenful] | None:
    """The idle daemon, then the dashboard attached to it in each mode (None: no daemon)."""
    exe = [sys.executable, "-m", "edgetui"]
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-") as tmp:
        state = Path(tmp)
        cfg = state / "bench.toml"
        cfg.write_text("[telemetry]\ninterval_s = 1.0\n")
        base = [*exe, "--config", str(cfg), "--state-dir", str(state)]
        daemon = PtyProcess([*base, "daemon"], args.cols, args.rows)
        try:
            if not _wait_socket(socket_path(state)):
                return None
            idle = measure({"daemon (idle)": daemon.proc.pid}, min(args.seconds, 10.0), 1.0)
            return [
                Screenful(idle[0], 0.0),
                _run("edgetui", base, args),
                _run("edgetui --low-bandwidth", [*base, "--low-bandwidth"], args),
            ]
        finally:
            daemon.stop()


def _ratio(a: float, b: float | None) -> float | None:
    return a / b if b else None


def cmd_bench_tui(ctx: Context) -> int:
    args = ctx.args
    ours = _edgetui(args)
    if ours is None:
        print("edgetui: daemon did not start", file=sys.stderr)
        return EXIT_ERROR
    theirs = {
        name: _run(name, [found, *argv[1:]], args)
        for name, argv in BASELINES.items()
        if (found := which(argv[0]))
    }
    default, slow = ours[1], ours[2]
    rate = {name: s.bytes_per_s for name, s in theirs.items()}
    cpu = {name: s.figures.cpu_percent for name, s in theirs.items()}
    ratios = {
        "dashboard_vs_glances_cpu": _ratio(default.figures.cpu_percent, cpu.get("glances -t 1")),
        "default_vs_glances_bytes": _ratio(default.bytes_per_s, rate.get("glances -t 1")),
        "low_bandwidth_vs_htop_bytes": _ratio(slow.bytes_per_s, rate.get("htop")),
    }
    rows = ours + list(theirs.values())
    if args.json:
        print_json({
            "terminal": f"{args.cols}x{args.rows}", "refresh_s": 1.0, "seconds": args.seconds,
            "processes": [{**s.figures.__dict__, "bytes_per_s": s.bytes_per_s} for s in rows],
            **ratios,
        })  # fmt: skip
        return EXIT_OK
    print(f"bench tui: {args.cols}x{args.rows} pty, 1 s refresh, {args.seconds:.0f} s window")
    print(f"{'process':<24} {'CPU % of a core':>16} {'peak RSS MB':>12} {'bytes/s':>10}")
    for s in rows:
        f = s.figures
        print(f"{f.name:<24} {f.cpu_percent:>16.2f} {f.peak_rss_mb:>12.1f} {s.bytes_per_s:>10.0f}")
    goals = (
        ("dashboard_vs_glances_cpu", "dashboard / glances CPU", "<= 0.75x", 0.75, "glances"),
        ("default_vs_glances_bytes", "dashboard / glances bytes/s", "<= 0.5x", 0.5, "glances"),
        ("low_bandwidth_vs_htop_bytes", "low-bandwidth / htop bytes/s", "<= 1x", 1.0, "htop"),
    )
    for key, label, goal, bound, needs in goals:
        r = ratios[key]
        if r is None:
            print(f"{label}: {needs} not installed, no baseline")
        else:
            print(f"{label}: {r:.2f}x ({'meets' if r <= bound else 'misses'} the goal of {goal})")
    return EXIT_OK
