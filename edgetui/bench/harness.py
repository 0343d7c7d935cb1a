"""The harness every comparing benchmark shares: variants measured in interleaved rounds of
one run, each side's samples reduced to one statistic, the ratio of a candidate to a
baseline with its spread over the rounds, a goal, and the load average around it all;
printed as text or JSON by `edgetui.bench.report`.

Why interleaved: on a shared machine the load drifts within a run, and one round of either
variant can swing by a third. The order of the variants rotates every round (ABBA... for
two), so drift hits each alike, and the per-round ratios show how far one round can be
trusted. Every figure of a comparison comes from the samples taken in this run.

A side is a callable with no arguments (for `run_rounds_async` it may return an awaitable).
With `measure="time"` its result for the round is the harness's `clock` around the call
(seconds, or CPU seconds with `time.process_time`); with `measure="result"` it is what the
side returned: a number (a rate the side timed itself), a list of numbers (several samples:
latencies), or anything else for `key` to read."""

from __future__ import annotations

import inspect
import os
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from edgetui.inference import percentile

Clock = Callable[[], float]
LoadAvg = Callable[[], tuple[float, ...]]
Side = Callable[[], Any]
Order = Literal["rotate", "fixed"]
Measure = Literal["time", "result"]
MIN_P95 = 20  # fewer samples than this and a p95 is only the largest one: not reported


def load_average() -> tuple[float, ...]:
    """The 1, 5 and 15 minute load averages now (the machines are shared: say how busy)."""
    return tuple(round(x, 2) for x in os.getloadavg())


def stat_of(values: Sequence[float], stat: str) -> float | None:
    """`stat` ("median", "mean", "min", "max", or "pNN": nearest-rank percentile, the same as
    the inference latency figures) of `values`; None when there are none."""
    if not values:
        return None
    if stat == "median":
        return statistics.median(values)
    if stat == "mean":
        return statistics.fmean(values)
    if stat == "min":
        return min(values)
    if stat == "max":
        return max(values)
    if stat.startswith("p") and stat[1:].replace(".", "", 1).isdigit():
        return percentile(values, float(stat[1:]))
    raise ValueError(f"unknown statistic {stat!r}")


@dataclass(frozen=True)
class Goal:
    """What a comparison must meet: `of` (the ratio candidate / baseline, the candidate's own
    figure, or the difference candidate - baseline) `op` `limit`. Goal(">=", 0.8): the
    ratio must be at least 0.8; Goal("<=", 2.0, of="candidate"): at most 2.0 units."""

    op: Literal["<=", ">="]
    limit: float
    of: Literal["ratio", "candidate", "difference"] = "ratio"

    def met(self, value: float | None) -> bool | None:
        """Whether `value` (the figure named by `of`) meets the goal; None if unmeasured."""
        if value is None:
            return None
        return value <= self.limit if self.op == "<=" else value >= self.limit

    def text(self, unit: str = "") -> str:
        """The goal in words, e.g. "ratio >= 0.8x"."""
        end = "x" if self.of == "ratio" else (f" {unit}" if unit else "")
        return f"{self.of} {self.op} {self.limit:g}{end}"


@dataclass(frozen=True)
class Load:
    """The load averages (1, 5, 15 min) when the measuring started and when it ended."""

    start: tuple[float, ...]
    end: tuple[float, ...]


@dataclass
class Comparison:
    """One candidate against one baseline, all from samples of the same run. `stat` names
    the statistic of `candidate_value`/`baseline_value` (the ratio is theirs); the p95s are
    None with fewer than MIN_P95 samples; `round_ratios` pair round i of each side."""

    name: str
    unit: str
    stat: str
    candidate: str
    baseline: str
    candidate_samples: list[float]
    baseline_samples: list[float]
    candidate_value: float | None
    baseline_value: float | None
    candidate_p95: float | None
    baseline_p95: float | None
    ratio: float | None
    round_ratios: list[float]
    spread: tuple[float, float] | None
    goal: Goal | None
    met: bool | None
    load: Load

    @property
    def difference(self) -> float | None:
        """candidate - baseline, in `unit`."""
        if self.candidate_value is None or self.baseline_value is None:
            return None
        return self.candidate_value - self.baseline_value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the goal in words beside its parts."""
        out = asdict(self)
        out["difference"] = self.difference
        if self.goal is not None:
            out["goal"]["text"] = self.goal.text(self.unit)
        return out


def compare(
    candidate: Sequence[Any],
    baseline: Sequence[Any],
    *,
    name: str,
    labels: tuple[str, str] = ("candidate", "baseline"),
    unit: str = "",
    stat: str = "median",
    goal: Goal | None = None,
    load: Load | None = None,
) -> Comparison:
    """A comparison of per-round results (numbers, or lists of samples: a round's figure is
    then their `stat`); the overall figure is `stat` over all samples of a side."""
    cand = [_samples(r) for r in candidate]
    base = [_samples(r) for r in baseline]
    flat_c = [x for r in cand for x in r]
    flat_b = [x for r in base for x in r]
    c_val, b_val = stat_of(flat_c, stat), stat_of(flat_b, stat)
    ratio = c_val / b_val if c_val is not None and b_val else None
    rounds = []
    for rc, rb in zip(cand, base, strict=False):
        vc, vb = stat_of(rc, stat), stat_of(rb, stat)
        if vc is not None and vb:
            rounds.append(vc / vb)
    cmp = Comparison(
        name=name,
        unit=unit,
        stat=stat,
        candidate=labels[0],
        baseline=labels[1],
        candidate_samples=flat_c,
        baseline_samples=flat_b,
        candidate_value=c_val,
        baseline_value=b_val,
        candidate_p95=percentile(flat_c, 95) if len(flat_c) >= MIN_P95 else None,
        baseline_p95=percentile(flat_b, 95) if len(flat_b) >= MIN_P95 else None,
        ratio=ratio,
        round_ratios=rounds,
        spread=(min(rounds), max(rounds)) if rounds else None,
        goal=goal,
        met=None,
        load=load or Load((), ()),
    )
    if goal is not None:
        figure = {"ratio": ratio, "candidate": c_val, "difference": cmp.difference}[goal.of]
        cmp.met = goal.met(figure)
    return cmp


def _samples(result: Any) -> list[float]:
    if isinstance(result, int | float):
        return [float(result)]
    return [float(x) for x in result]


@dataclass
class Rounds:
    """What interleaved rounds measured: per variant, its result of each measured round (in
    round order), the order the variants ran in each round, the load around them all."""

    results: dict[str, list[Any]]
    orders: list[list[str]]
    load: Load

    def compare(
        self,
        candidate: str,
        baseline: str,
        *,
        name: str,
        labels: tuple[str, str] | None = None,
        key: Callable[[Any], Any] | None = None,
        unit: str = "",
        stat: str = "median",
        goal: Goal | None = None,
    ) -> Comparison:
        """The comparison of two variants; `key` reads the figure from a structured result
        (a number or a list of samples). The labels default to the variants' names."""

        def pick(name: str) -> list[Any]:
            return [key(r) if key else r for r in self.results[name]]

        return compare(
            pick(candidate),
            pick(baseline),
            name=name,
            labels=labels or (candidate, baseline),
            unit=unit,
            stat=stat,
            goal=goal,
            load=self.load,
        )


class _Recorder:
    """What both drivers share: the options (see `run_rounds`), the schedule, the timing,
    the results."""

    def __init__(
        self,
        names: list[str],
        *,
        rounds: int,
        warmup: int = 0,
        order: Order = "rotate",
        measure: Measure = "time",
        before_round: Callable[[int], object] | None = None,
        clock: Clock = time.perf_counter,
        loadavg: LoadAvg = load_average,
    ) -> None:
        if rounds < 1 or warmup < 0:
            raise ValueError("rounds must be at least 1 and warmup at least 0")
        if measure not in ("time", "result") or order not in ("rotate", "fixed"):
            raise ValueError(f"unknown measure {measure!r} or order {order!r}")
        self.names, self.rounds, self.warmup, self.order = names, rounds, warmup, order
        self.timed, self.before_round = measure == "time", before_round
        self.results: dict[str, list[Any]] = {n: [] for n in names}
        self.orders: list[list[str]] = []
        self.clock, self.loadavg = clock, loadavg
        self.start = loadavg()

    def schedule(self) -> Iterator[tuple[int, list[str]]]:
        """(round index, the variants in the order they run) per round, warm-ups first."""
        for i in range(self.warmup + self.rounds):
            k = i % len(self.names) if self.order == "rotate" else 0
            names = self.names[k:] + self.names[:k]
            self.measured = i >= self.warmup
            if self.measured:
                self.orders.append(names)
            yield i, names

    def begin(self) -> float:
        return self.clock()

    def add(self, name: str, t0: float, value: Any) -> None:
        elapsed = self.clock() - t0  # first: nothing of the harness's own work is timed
        if self.measured:
            self.results[name].append(elapsed if self.timed else value)

    def done(self) -> Rounds:
        return Rounds(self.results, self.orders, Load(self.start, self.loadavg()))


def run_rounds(variants: Mapping[str, Side], **options: Any) -> Rounds:
    """Run every variant once per round. Options: `rounds` (required), `warmup` unmeasured
    rounds first (0); `order` "rotate" (each round starts one variant later) or "fixed";
    `measure` "time" (each call timed with `clock`, default time.perf_counter) or "result"
    (each call's return value kept); `before_round(i)` prepares round i, untimed;
    `loadavg` reads the load average (os.getloadavg)."""
    rec = _Recorder(list(variants), **options)
    for i, names in rec.schedule():
        if rec.before_round is not None:
            rec.before_round(i)
        for name in names:
            t0 = rec.begin()
            rec.add(name, t0, variants[name]())
    return rec.done()


async def run_rounds_async(variants: Mapping[str, Side], **options: Any) -> Rounds:
    """`run_rounds` (the same options) on the event loop: a side or `before_round` may
    return an awaitable."""
    rec = _Recorder(list(variants), **options)
    for i, names in rec.schedule():
        if rec.before_round is not None:
            await _settle(rec.before_round(i))
        for name in names:
            t0 = rec.begin()
            rec.add(name, t0, await _settle(variants[name]()))
    return rec.done()


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def all_met(comparisons: Sequence[Comparison]) -> bool:
    """Every comparison that has a goal met it."""
    return all(c.met for c in comparisons if c.goal is not None)
