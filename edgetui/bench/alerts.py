"""`edgetui bench alerts`: what the alert engine adds to a telemetry tick, and how long a
condition takes to fire.

1. The real runtime's tick (sampler, every part's section, snapshot) timed in CPU seconds
   with the alert engine off, then on with the built-in rules plus N generated rules, in
   the same run; the difference as % of one core at a 1 s tick (goal: <= 0.2 %).
2. The engine's evaluation alone on that snapshot (the same cost without the tick's noise).
3. Delay from a condition becoming true (at a random moment between ticks) to the firing
   transition, against the goal of for_s plus at most one tick.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edgetui.alerts import AlertEngine
from edgetui.cli.context import EXIT_OK, EXIT_USAGE, CommandError, Context, print_json
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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="alert evaluation cost per tick and firing delay")
    p.add_argument("--rules", type=int, default=200, help="generated rules on top of built-ins")
    p.add_argument("--ticks", type=int, default=40, help="runtime ticks timed per variant")
    p.add_argument("--evals", type=int, default=2000, help="bare evaluations timed")
    p.add_argument("--for-s", type=float, default=1.0, help="for_s of the delay probe")
    p.add_argument("--tick-s", type=float, default=0.25, help="tick of the delay probe")
    p.add_argument("--trials", type=int, default=5, help="delay probes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_alerts)


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


async def _tick_cpu(config: Config, state_dir: Path, ticks: int) -> tuple[float, dict[str, Any]]:
    """Mean process CPU seconds of one runtime tick, and the last snapshot."""
    from edgetui.runtime import Runtime

    rt = Runtime(config, state_dir)
    await rt.start()
    try:
        assert rt._tick_task is not None
        rt._tick_task.cancel()  # the bench drives the ticks itself
        for _ in range(3):
            await rt._tick()
        samples = []
        for _ in range(ticks):
            t0 = time.process_time()
            await rt._tick()
            samples.append(time.process_time() - t0)
        snap = (await rt.status()).to_dict(with_history=False)
    finally:
        await rt.stop()
    return statistics.mean(samples), snap


async def _eval_cpu(cfg: AlertsConfig, db: Path, snap: dict[str, Any], n: int) -> float:
    engine = AlertEngine(cfg, db, device_id="bench")
    await engine.start()
    try:
        for _ in range(5):
            await engine.evaluate(snap)
        t0 = time.process_time()
        for _ in range(n):
            await engine.evaluate(snap)
        return (time.process_time() - t0) / n
    finally:
        await engine.stop()


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
        tick_off, snap = await _tick_cpu(off, root / "off", a.ticks)
        tick_on, _ = await _tick_cpu(on, root / "on", a.ticks)
        builtin_only = await _eval_cpu(AlertsConfig(), root / "e1.db", snap, a.evals)
        full = await _eval_cpu(on.alerts, root / "e2.db", snap, a.evals)
        delays = await _delay_probe(root / "probe.db", a.for_s, a.tick_s, a.trials)
    n_rules = 15 + a.rules
    out = {
        "rules": n_rules,
        "tick_cpu_ms_without_alerts": round(tick_off * 1e3, 3),
        "tick_cpu_ms_with_alerts": round(tick_on * 1e3, 3),
        "tick_added_percent_of_core": round((tick_on - tick_off) / 1.0 * 100, 3),
        "eval_cpu_ms_builtin": round(builtin_only * 1e3, 3),
        "eval_cpu_ms_all_rules": round(full * 1e3, 3),
        "eval_percent_of_core": round(full * 100, 3),
        "delay_for_s": a.for_s,
        "delay_tick_s": a.tick_s,
        "delays_s": [round(d, 3) for d in delays],
        "delay_max_over_for_s_ticks": round((max(delays) - a.for_s) / a.tick_s, 2),
    }
    if a.json:
        print_json(out)
        return EXIT_OK
    goal_cost = "meets" if out["eval_percent_of_core"] <= 0.2 else "misses"
    goal_delay = "meets" if max(delays) <= a.for_s + a.tick_s else "misses"
    print(f"bench alerts: {n_rules} rules (15 built-in + {a.rules} generated), 1 s tick")
    print(f"{'':34}CPU ms/tick  % of a core")
    print(
        f"{'runtime tick, alerts off':34}{out['tick_cpu_ms_without_alerts']:>11.3f}"
        f"  {tick_off * 100:>10.3f}"
    )
    print(
        f"{'runtime tick, alerts on':34}{out['tick_cpu_ms_with_alerts']:>11.3f}"
        f"  {tick_on * 100:>10.3f}"
    )
    print(
        f"{'  added (on - off)':34}{(tick_on - tick_off) * 1e3:>11.3f}"
        f"  {out['tick_added_percent_of_core']:>10.3f}"
    )
    print(
        f"{'evaluation alone, 15 built-ins':34}{builtin_only * 1e3:>11.3f}"
        f"  {builtin_only * 100:>10.3f}"
    )
    print(
        f"{f'evaluation alone, {n_rules} rules':34}{full * 1e3:>11.3f}"
        f"  {full * 100:>10.3f}  ({goal_cost} the goal of <= 0.2 %)"
    )
    shown = ", ".join(f"{d:.2f}" for d in delays)
    print(f"condition true -> firing, for_s {a.for_s:g} s, tick {a.tick_s:g} s: {shown} s")
    print(
        f"worst: for_s + {out['delay_max_over_for_s_ticks']:.2f} ticks "
        f"({goal_delay} the goal of for_s + at most one tick)"
    )
    return EXIT_OK
