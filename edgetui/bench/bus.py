"""`edgetui bench bus`: event bus throughput and delivery latency with three subscribers
(one deliberately slow), against a bare asyncio.Queue fan-out of the same events, same run."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from edgetui.bench.harness import Comparison, run_rounds_async
from edgetui.bench.report import add_bench, report
from edgetui.bus import EventBus
from edgetui.cli.context import Context
from edgetui.cli.exits import EXIT_OK, EXIT_USAGE, CommandError
from edgetui.config import BusConfig
from edgetui.inference import percentile
from edgetui.models.event import Event

SOURCE = "edgetui://bench/sensor"


@dataclass
class Run:
    """One measured run of one variant."""

    events_per_s: float
    p50_ms: float
    p99_ms: float
    max_publish_us: float  # the longest single publish call: publishing must never wait
    slow_received: int
    slow_dropped: int


HELP = "bus events/s and delivery latency vs bare asyncio.Queue"
OPTIONS = """
    --events 20_000     events per run
    --rounds 3          runs per variant (median reported)
    --batch 100         events published between yields
    --slow-ms 1.0       slow subscriber's time per event
    --queue-size 1000   per-subscriber queue bound
"""


def register(sub: argparse._SubParsersAction) -> None:
    add_bench(sub, "bus", HELP, cmd_bench_bus, OPTIONS)


def _ms(values: list[int], pct: float) -> float:
    """A percentile of latencies in ns, in ms."""
    return (percentile(values, pct) or 0) / 1e6


async def _measure(
    publish: Callable[[Event], None],
    getters: list[Callable[[], Awaitable[Event]]],
    slow_get: Callable[[], Awaitable[Event]],
    n: int,
    batch: int,
    slow_s: float,
) -> tuple[float, list[int], float, int]:
    """Publish n events; two fast consumers take all, the slow one sleeps per event.
    Returns (seconds until the fast ones had everything, latencies ns, max publish us,
    events the slow one got)."""
    latencies: list[int] = []
    slow_got = 0

    async def fast(get: Callable[[], Awaitable[Event]]) -> None:
        for _ in range(n):
            ev = await get()
            latencies.append(time.perf_counter_ns() - ev.data["t"])

    async def slow() -> None:
        nonlocal slow_got
        while True:
            await slow_get()
            slow_got += 1
            await asyncio.sleep(slow_s)

    tasks = [asyncio.create_task(fast(g)) for g in getters]
    slow_task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    longest = 0
    start = time.perf_counter()
    for i in range(n):
        ev = Event(type="MOTION_DETECTED", source=SOURCE, data={"t": 0, "n": i})
        t0 = time.perf_counter_ns()
        ev.data["t"] = t0
        publish(ev)
        longest = max(longest, time.perf_counter_ns() - t0)
        if i % batch == batch - 1:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    slow_task.cancel()
    return elapsed, latencies, longest / 1e3, slow_got


async def run_bus(n: int, batch: int, slow_s: float, queue_size: int) -> Run:
    """The real EventBus, as the runtime uses it (history ring, the event's dict built for
    notify)."""
    bus = EventBus(BusConfig(queue_size=queue_size), "bench", notify=lambda kind, data: None)
    await bus.start()
    fast = [bus.subscribe("*", name="fast-1"), bus.subscribe("MOTION_*", name="fast-2")]
    slow = bus.subscribe("*", name="slow")
    try:
        elapsed, lat, longest, slow_got = await _measure(
            bus.publish_event, [s.get for s in fast], slow.get, n, batch, slow_s
        )
        return Run(n / elapsed, _ms(lat, 50), _ms(lat, 99), longest, slow_got, slow.dropped)
    finally:
        await bus.stop()


async def run_baseline(n: int, batch: int, slow_s: float, queue_size: int) -> Run:
    """Bare asyncio.Queue fan-out: three queues, the slow one drops its oldest when full."""
    fast: list[asyncio.Queue[Event]] = [asyncio.Queue(queue_size) for _ in range(2)]
    slow: asyncio.Queue[Event] = asyncio.Queue(queue_size)
    dropped = 0

    def publish(ev: Event) -> None:
        nonlocal dropped
        for q in fast:
            q.put_nowait(ev)
        if slow.full():
            slow.get_nowait()
            dropped += 1
        slow.put_nowait(ev)

    elapsed, lat, longest, slow_got = await _measure(
        publish, [q.get for q in fast], slow.get, n, batch, slow_s
    )
    return Run(n / elapsed, _ms(lat, 50), _ms(lat, 99), longest, slow_got, dropped)


def _median(runs: list[Run]) -> Run:
    fields = asdict(runs[0]).keys()
    med = {f: statistics.median(getattr(r, f) for r in runs) for f in fields}
    return Run(**{f: (int(v) if f.startswith("slow_") else float(v)) for f, v in med.items()})


LABELS = ("edgetui EventBus", "bare asyncio.Queue")


async def _bench(args: argparse.Namespace) -> tuple[dict[str, Any], list[Comparison]]:
    slow_s = args.slow_ms / 1000.0
    sizes = (args.events, args.batch, slow_s, args.queue_size)
    rounds = await run_rounds_async(
        {"bus": lambda: run_bus(*sizes), "baseline": lambda: run_baseline(*sizes)},
        rounds=args.rounds,
        measure="result",
    )
    comparisons = [
        rounds.compare(
            "bus",
            "baseline",
            name=f"bus / baseline, {what}",
            labels=LABELS,
            key=lambda r, f=field: getattr(r, f),
            unit=unit,
        )
        for what, field, unit in (
            ("events/s", "events_per_s", "events/s"),
            ("p99 latency", "p99_ms", "ms"),
        )
    ]
    per_s, p99 = comparisons
    figures = {
        "events": args.events,
        "rounds": args.rounds,
        "batch": args.batch,
        "queue_size": args.queue_size,
        "slow_ms": args.slow_ms,
        "subscribers": ["fast-1 *", "fast-2 MOTION_*", f"slow * ({args.slow_ms} ms/event)"],
        "bus": asdict(_median(rounds.results["bus"])),
        "baseline": asdict(_median(rounds.results["baseline"])),
        "ratio_events_per_s": per_s.ratio,
        "ratio_p99": p99.ratio,
    }
    return figures, comparisons


def cmd_bench_bus(ctx: Context) -> int:
    args = ctx.args
    if args.events < 1 or args.rounds < 1 or args.batch < 1 or args.queue_size < 1:
        raise CommandError(
            "--events, --rounds, --batch and --queue-size must be 1 or more", EXIT_USAGE
        )
    if args.batch > args.queue_size:
        # Else even the fast subscribers would overflow between two yields of the publisher.
        raise CommandError("--batch must not exceed --queue-size", EXIT_USAGE)
    figures, comparisons = asyncio.run(_bench(args))
    title = (
        f"bench bus: {args.events} events x 3 subscribers (fast-1 '*', fast-2 'MOTION_*', "
        f"slow '*' at {args.slow_ms} ms/event), queue {args.queue_size}, "
        f"yield every {args.batch}; median of {args.rounds} rounds"
    )
    head = f"{'variant':<22} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max pub us':>10}"
    lines = [head + f" {'slow got':>9} {'slow dropped':>12}"]
    for name, key in zip(LABELS, ("bus", "baseline"), strict=True):
        r = figures[key]
        lines.append(
            f"{name:<22} {r['events_per_s']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['max_publish_us']:>10.1f} {r['slow_received']:>9} {r['slow_dropped']:>12}"
        )
    report(comparisons, as_json=args.json, title=title, figures=figures, lines=lines)
    return EXIT_OK
