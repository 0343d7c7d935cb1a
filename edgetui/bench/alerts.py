"""`edgetui bench alerts`: what the alert engine adds to a telemetry tick, and how long a
condition takes to fire.

1. The real runtime's tick (sampler, every part's section, snapshot) timed in CPU seconds
   with the alert engine off and on (the built-in rules plus N generated rules): two
   runtimes, their ticks in turns; the difference as % of one core at a 1 s tick (goal:
   <= 0.2 %).
2. The engine's evaluation alone on that snapshot, all rules against the built-ins, in
   turns (the same cost without the tick's noise; goal: <= 0.2 % of a core).
3. Delay from a condition becoming true (at a random moment between ticks) to the firing
   transition, against the goal of for_s plus at most one tick.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from edgetui.alerts import AlertEngine
from edgetui.bench.harness import Comparison, Goal, run_rounds_async
from edgetui.bench.report import add_bench, report
from edgetui.cli.context import Context
from edgetui.cli.exits import EXIT_OK, EXIT_USAGE, CommandError
from edgetui.config import AlertRuleConfig, AlertsConfig, Config

# Paths the generated rules read (a mix of sections and depths, like real user rules).
PATHS = (
    "resources.cpu_percent",
    "resources.memory_free_mb",
    "resources.disk_free_gb",
    "resources.cpu_per_core.0",
    "resources.load_avg.0",
    "buffer.fill_percent",
    "buffer.queued",
    "bus.published",
    "bus.dropped",
    "inference.requests",
)


HELP = "alert evaluation cost per tick and firing delay"
OPTIONS = """
    --rules 200     generated rules on top of built-ins
    --ticks 40      runtime ticks timed per variant
    --evals 2000    bare evaluations timed
    --for-s 1.0     for_s of the delay probe
    --tick-s 0.25   tick of the delay probe
    --trials 5      delay probes
"""


def register(sub: argparse._SubParsersAction) -> None:
    add_bench(sub, "alerts", HELP, cmd_bench_alerts, OPTIONS)


def generated_rules(n: int) -> list[AlertRuleConfig]:
    """n rules over PATHS with thresholds that do not fire (steady state is the common
    case: a transition costs a database write, and is rare)."""
    return [
        AlertRuleConfig(
            name=f"gen_{i:03d}",
            metric=PATHS[i % len(PATHS)],
            op=("<" if i % 2 else ">"),
            warning=(-1.0 if i % 2 else 1e15),
            critical=(-2.0 if i % 2 else 1e16),
            for_s=60.0,
        )
        for i in range(n)
    ]


# At a 1 s tick, 0.2 % of a core is 2 ms of CPU per tick.
GOAL_MS = 2.0


async def _ticks(off: Config, on: Config, root: Path, ticks: int) -> tuple[Comparison, dict]:
    """Two runtimes, alerts on and off, their ticks driven by the bench in turns, each
    timed in process CPU seconds; and the last snapshot (alerts off)."""
    from edgetui.runtime import Runtime

    runtimes = {"on": Runtime(on, root / "on"), "off": Runtime(off, root / "off")}
    try:
        for rt in runtimes.values():
            await rt.start()
            await rt.pause_ticks()  # the bench drives the ticks itself
        rounds = await run_rounds_async(
            {name: rt.tick_once for name, rt in runtimes.items()},
            rounds=ticks,
            warmup=3,
            clock=time.process_time,
        )
        snap = (await runtimes["off"].status()).to_dict(with_history=False)
    finally:
        for rt in runtimes.values():
            await rt.stop()
    cmp = rounds.compare(
        "on", "off", name="runtime tick, CPU per tick", unit="ms", stat="mean",
        labels=("alerts on", "alerts off"), key=lambda s: s * 1e3,
        goal=Goal("<=", GOAL_MS, of="difference"),
    )  # fmt: skip
    return cmp, snap


async def _evals(configs: dict[str, AlertsConfig], root: Path, snap: dict, n: int) -> Comparison:
    """The engine's evaluation alone on `snap`, all rules against the built-ins only, the
    two engines in turns, in process CPU seconds."""
    engines = {
        name: AlertEngine(cfg, root / f"eval-{name}.db", device_id="bench")
        for name, cfg in configs.items()
    }
    try:
        for engine in engines.values():
            await engine.start()
        rounds = await run_rounds_async(
            {name: (lambda e=e: e.evaluate(snap)) for name, e in engines.items()},
            rounds=n,
            warmup=5,
            clock=time.process_time,
        )
    finally:
        for engine in engines.values():
            await engine.stop()
    all_rules, builtin = configs
    return rounds.compare(
        all_rules, builtin, name="evaluation alone, CPU per tick", unit="ms", stat="mean",
        key=lambda s: s * 1e3, goal=Goal("<=", GOAL_MS, of="candidate"),
    )  # fmt: skip


async def _delay_probe(db: Path, for_s: float, tick_s: float, trials: int) -> list[float]:
    """Seconds from the condition turning true to the firing transition, per trial."""
    rule = AlertRuleConfig(
        name="probe", metric="resources.cpu_percent", op=">", warning=50.0, for_s=for_s
    )
    cfg = AlertsConfig(rules=[rule])
    delays = []
    base = {"resources": {"cpu_percent": 10.0}}
    for i in range(trials):
        engine = AlertEngine(cfg, db.with_name(f"probe{i}.db"), device_id="bench", tick_s=tick_s)
        await engine.start()
        fired: list[float] = []

        def on_transition(alert: Any, transition: str, fired: list[float] = fired) -> None:
            if alert.name == "probe" and transition == "firing":
                fired.append(time.monotonic())

        engine.listeners.append(on_transition)
        snap = copy.deepcopy(base)
        true_at = time.monotonic() + tick_s * (1 + random.random())  # between two ticks
        try:
            next_tick = time.monotonic()
            while not fired:
                if time.monotonic() >= true_at:
                    snap["resources"]["cpu_percent"] = 99.0
                await engine.evaluate(snap)
                next_tick += tick_s
                await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        finally:
            await engine.stop()
        delays.append(fired[0] - true_at)
    return delays


async def cmd_bench_alerts(ctx: Context) -> int:
    a = ctx.args
    if a.rules < 0 or a.ticks < 1 or a.evals < 1 or a.trials < 1 or a.tick_s <= 0:
        raise CommandError("bench alerts: counts must be positive", code=EXIT_USAGE)
    # The probes fire on purpose: their log lines are not news.
    logging.getLogger("edgetui.alerts").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-alerts-") as tmp:
        root = Path(tmp)
        off = Config()
        off.device.id = "bench"
        off.alerts.enabled = False
        on = copy.deepcopy(off)
        on.alerts.enabled = True
        on.alerts.rules = generated_rules(a.rules)
        n_rules = 15 + a.rules
        tick, snap = await _ticks(off, on, root, a.ticks)
        configs = {f"{n_rules} rules": on.alerts, "15 built-ins": AlertsConfig()}
        evals = await _evals(configs, root, snap, a.evals)
        delays = await _delay_probe(root / "probe.db", a.for_s, a.tick_s, a.trials)
    tick_on, tick_off = tick.candidate_value or 0.0, tick.baseline_value or 0.0
    full, builtin_only = evals.candidate_value or 0.0, evals.baseline_value or 0.0
    out = {
        "rules": n_rules,
        "tick_cpu_ms_without_alerts": round(tick_off, 3),
        "tick_cpu_ms_with_alerts": round(tick_on, 3),
        "tick_added_percent_of_core": round((tick_on - tick_off) / 10, 3),
        "eval_cpu_ms_builtin": round(builtin_only, 3),
        "eval_cpu_ms_all_rules": round(full, 3),
        "eval_percent_of_core": round(full / 10, 3),
        "delay_for_s": a.for_s,
        "delay_tick_s": a.tick_s,
        "delays_s": [round(d, 3) for d in delays],
        "delay_max_over_for_s_ticks": round((max(delays) - a.for_s) / a.tick_s, 2),
        "delay_met": max(delays) <= a.for_s + a.tick_s,
    }
    goal_delay = "meets" if out["delay_met"] else "misses"
    shown = ", ".join(f"{d:.2f}" for d in delays)
    lines = [
        f"CPU ms per 1 s tick; {GOAL_MS:g} ms is 0.2 % of a core",
        f"condition true -> firing, for_s {a.for_s:g} s, tick {a.tick_s:g} s: {shown} s",
        f"worst: for_s + {out['delay_max_over_for_s_ticks']:.2f} ticks "
        f"({goal_delay} the goal of for_s + at most one tick)",
    ]
    title = f"bench alerts: {n_rules} rules (15 built-in + {a.rules} generated), 1 s tick"
    report([tick, evals], as_json=a.json, title=title, figures=out, lines=lines)
    return EXIT_OK
