"""The bench harness with deterministic sides and a fake clock: the schedule, the medians,
the ratios, the goal and the report are checked exactly (no wall clock anywhere)."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

from edgetui.bench.harness import (
    Goal,
    Load,
    all_met,
    compare,
    run_rounds,
    run_rounds_async,
    stat_of,
)
from edgetui.bench.report import add_bench, report


class FakeClock:
    """Time moves only when a side says how long its work took."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def spend(self, seconds: float) -> None:
        self.now += seconds


def fixed_load() -> tuple[float, ...]:
    return (1.5, 1.0, 0.5)


def test_rounds_rotate_the_order_and_time_each_side_with_the_clock() -> None:
    clock, calls = FakeClock(), []
    costs = {"cand": iter([9.0, 2.0, 4.0, 3.0]), "base": iter([9.0, 1.0, 2.0, 2.0])}

    def side(name: str):
        def run() -> None:
            calls.append(name)
            clock.spend(next(costs[name]))

        return run

    rounds = run_rounds(
        {"cand": side("cand"), "base": side("base")},
        rounds=3,
        warmup=1,
        clock=clock,
        loadavg=fixed_load,
    )
    # Warm-up (round 0: cand first) not kept; then base first, cand first, base first.
    assert calls == ["cand", "base", "base", "cand", "cand", "base", "base", "cand"]
    assert rounds.orders == [["base", "cand"], ["cand", "base"], ["base", "cand"]]
    assert rounds.results == {"cand": [2.0, 4.0, 3.0], "base": [1.0, 2.0, 2.0]}
    c = rounds.compare("cand", "base", name="work", unit="s", goal=Goal("<=", 1.25))
    assert (c.candidate_value, c.baseline_value) == (3.0, 2.0)
    assert c.ratio == 1.5
    assert c.round_ratios == [2.0, 2.0, 1.5]
    assert c.spread == (1.5, 2.0)
    assert c.met is False
    assert c.candidate_p95 is None  # three samples: no p95
    assert c.load == Load((1.5, 1.0, 0.5), (1.5, 1.0, 0.5))


def test_sides_that_return_their_figure_and_three_variants_that_rotate() -> None:
    clock = FakeClock()
    rates = {"a": iter([10.0, 20.0, 30.0]), "b": iter([5.0, 5.0, 10.0]), "c": iter([1, 2, 3])}
    seen: list[int] = []
    rounds = run_rounds(
        {name: (lambda it=it: next(it)) for name, it in rates.items()},
        rounds=3,
        measure="result",
        clock=clock,
        loadavg=fixed_load,
        before_round=seen.append,
    )
    assert seen == [0, 1, 2]
    assert rounds.orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    c = rounds.compare("a", "b", name="rate", goal=Goal(">=", 2.0))
    assert c.ratio == 20.0 / 5.0 and c.round_ratios == [2.0, 4.0, 3.0] and c.met is True
    fixed = run_rounds(
        {"x": lambda: 1.0, "y": lambda: 2.0}, rounds=2, order="fixed", measure="result"
    )
    assert fixed.orders == [["x", "y"], ["x", "y"]]
    assert fixed.results == {"x": [1.0, 1.0], "y": [2.0, 2.0]}


def test_async_rounds_await_sides_and_prepare_each_round() -> None:
    clock = FakeClock()
    prepared: list[int] = []

    async def prepare(i: int) -> None:
        prepared.append(i)

    async def slow() -> None:
        await asyncio.sleep(0)
        clock.spend(4.0)

    def quick() -> dict:  # a sync side is fine too; what it returns is not the sample
        clock.spend(2.0)
        return {"section": 1}

    rounds = asyncio.run(
        run_rounds_async(
            {"slow": slow, "quick": quick},
            rounds=2,
            warmup=2,
            before_round=prepare,
            clock=clock,
            loadavg=fixed_load,
        )
    )
    assert prepared == [0, 1, 2, 3]
    assert rounds.results == {"slow": [4.0, 4.0], "quick": [2.0, 2.0]}
    c = rounds.compare("slow", "quick", name="t", goal=Goal("<=", 4.0, of="candidate"))
    assert c.ratio == 2.0 and c.difference == 2.0 and c.met is True


def test_latency_samples_are_pooled_for_a_percentile_and_compared_round_by_round() -> None:
    # The inference bench's shape: several samples per round, p95 over all of them.
    cand = [[float(x) for x in range(1, 21)], [float(x) for x in range(21, 41)]]
    base = [[10.0] * 20, [20.0] * 20]
    c = compare(cand, base, name="latency", unit="ms", stat="p95")
    assert c.candidate_value == 38.0  # nearest rank: the 38th of 40
    assert c.baseline_value == 20.0
    assert c.ratio == 38.0 / 20.0
    assert c.round_ratios == [19.0 / 10.0, 39.0 / 20.0]
    assert c.candidate_p95 == 38.0 and c.baseline_p95 == 20.0
    assert len(c.candidate_samples) == 40
    median = compare(cand, base, name="latency", stat="median")
    assert median.candidate_value == 20.5 and median.baseline_value == 15.0


def test_goals_in_each_direction_and_of_each_figure() -> None:
    assert Goal("<=", 1.1).met(1.1) is True and Goal("<=", 1.1).met(1.11) is False
    assert Goal(">=", 0.9).met(0.9) is True and Goal(">=", 0.9).met(0.89) is False
    assert Goal(">=", 0.9).met(None) is None
    diff = compare([5.0], [3.0], name="d", goal=Goal("<=", 1.5, of="difference"))
    assert diff.difference == 2.0 and diff.met is False
    assert Goal(">=", 0.8).text() == "ratio >= 0.8x"
    assert Goal("<=", 2, of="candidate").text("ms") == "candidate <= 2 ms"
    none = compare([1.0], [0.0], name="zero base", goal=Goal("<=", 1.0))
    assert none.ratio is None and none.round_ratios == [] and none.met is None
    assert all_met([compare([1.0], [1.0], name="a", goal=Goal("<=", 1.0)), none]) is False
    assert all_met([compare([1.0], [1.0], name="a", goal=Goal("<=", 1.0))]) is True


def test_statistics() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert stat_of(values, "median") == 2.5
    assert stat_of(values, "mean") == 2.5
    assert stat_of(values, "p50") == 2.0
    assert stat_of(values, "p99") == 4.0
    assert (stat_of(values, "min"), stat_of(values, "max")) == (1.0, 4.0)
    assert stat_of([], "median") is None
    with pytest.raises(ValueError):
        stat_of(values, "mode")
    with pytest.raises(ValueError):
        run_rounds({"a": lambda: 1.0}, rounds=0)
    with pytest.raises(ValueError):
        run_rounds({"a": lambda: 1.0}, rounds=1, measure="size")


def _pair() -> list:
    one = compare([2.0, 4.0], [2.0, 2.0], name="drain", labels=("edgetui", "bare"),
                  unit="msg/s", goal=Goal(">=", 0.8), load=Load((3.0,), (4.0,)))  # fmt: skip
    two = compare([1.0], [2.0], name="verify", load=Load((5.0,), (6.0,)))
    return [one, two]


def test_report_json_carries_the_figures_every_comparison_and_the_load(capsys) -> None:
    report(_pair(), as_json=True, figures={"messages": 10})
    doc = json.loads(capsys.readouterr().out)
    assert doc["messages"] == 10
    first, second = doc["comparisons"]
    assert first["name"] == "drain" and first["ratio"] == 1.5 and first["met"] is True
    assert first["round_ratios"] == [1.0, 2.0] and first["spread"] == [1.0, 2.0]
    assert first["goal"] == {"op": ">=", "limit": 0.8, "of": "ratio", "text": "ratio >= 0.8x"}
    assert second["goal"] is None and second["ratio"] == 0.5
    assert doc["load_avg"] == {"start": [3.0], "end": [6.0]}


def test_report_text_names_each_side_the_ratio_spread_and_goal(capsys) -> None:
    report(_pair(), as_json=False, title="bench x", lines=["own line"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "bench x" and out[1] == "own line"
    assert out[2] == "drain (msg/s, median of 2 round(s))"
    assert out[3].split() == ["edgetui", "3.00"] and out[4].split() == ["bare", "2.00"]
    assert out[5] == "  ratio 1.500x, rounds 1.00 to 2.00 (1.00, 2.00); goal ratio >= 0.8x: met"
    assert out[-2] == "  ratio 0.500x"
    assert out[-1] == "load average (1/5/15 min): 3 at the start, 6 at the end"


def test_add_bench_reads_its_options_one_a_line() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="bench")
    add_bench(sub, "x", "help", len, """
        --rounds 9        rounds
        --slow-ms 1.0     ms per event
        --events 20_000   events
        --no-mqtt off     skip it
    """)  # fmt: skip
    args = parser.parse_args(["x"])
    assert (args.rounds, args.slow_ms, args.events) == (9, 1.0, 20000)
    assert args.no_mqtt is False and args.json is False and args.func is len
    args = parser.parse_args(["x", "--rounds", "2", "--slow-ms", "3", "--no-mqtt", "--json"])
    assert (args.rounds, args.slow_ms, args.no_mqtt, args.json) == (2, 3.0, True, True)


def test_several_variants_against_one_bare_call_at_each_percentile() -> None:
    # What the inference bench needs: per call one latency of each variant and of the bare
    # call, warm-ups dropped, then p50/p95/p99 of each variant against the bare call's.
    latency = {"agent": 12.0, "engine": 11.0, "bare": 10.0}
    calls = {name: 0 for name in latency}

    def side(name: str):
        def call() -> float:
            calls[name] += 1
            return latency[name] + calls[name] % 5  # 1..4, 0, 1..4, 0 ... ms on top

        return call

    rounds = run_rounds(
        {name: side(name) for name in latency}, rounds=40, warmup=3, measure="result"
    )
    assert calls == {"agent": 43, "engine": 43, "bare": 43}
    for stat in ("p50", "p95", "p99"):
        agent = rounds.compare("agent", "bare", name=f"agent {stat}", stat=stat)
        engine = rounds.compare("engine", "bare", name=f"engine {stat}", stat=stat)
        assert agent.difference == 2.0 and engine.difference == 1.0
        assert agent.ratio == agent.candidate_value / agent.baseline_value
        assert len(agent.round_ratios) == 40
