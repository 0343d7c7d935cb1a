"""`edgetui bench inference`: the same prompt, grammar and model three ways, interleaved in one
run: the full agent path with the model in its worker process (what the runtime runs:
MOTION_DETECTED on the bus -> llm agent -> engine -> worker process -> DECISION), the same path
with the model in a thread of this process (the engine before the worker process), and a bare
llama-cpp-python call in a process of its own (`bare_llama.py`: no model beside it). p50/p95/p99
of each, the ratios to the bare call, then the time from a SIGKILLed worker to the first model
decision again. `--repack` adds bare calls with llama.cpp's weight repacking on, to price the
default (off)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.bench.bare_llama import BareProcess
from edgetui.bench.harness import Comparison, Goal, Rounds, all_met, run_rounds_async
from edgetui.bench.model_choice import model_or_tiny
from edgetui.bench.report import report
from edgetui.cli.context import Context, command
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, CommandError
from edgetui.inference import percentile

WARMUP = 3
GOAL_P50, GOAL_P95 = 1.10, 1.20  # worker process / bare call
RECOVERIES = 3
# Each path runs a block of calls per round and its first is left out: the first call after
# another process's llama.cpp ran pays for the switch (cold caches, that process's threads
# still spinning), which a device running one model never pays. Measured with one call per
# round instead: the worker path 19 ms, the bare call 80 ms; run alone, 13-15 ms each.
BLOCK = 5


def register(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "inference", cmd_bench_inference,
                help="decision latency: worker process vs in-thread vs bare llama")  # fmt: skip
    p.add_argument("--model", metavar="PATH", help="GGUF to use (default: the tiny model)")
    p.add_argument("--runs", type=int, default=30, metavar="N")
    p.add_argument(
        "--repack", action="store_true", help="also time bare calls with weight repacking on"
    )


async def cmd_bench_inference(ctx: Context) -> int:
    args = ctx.args
    if args.runs < 1:
        raise CommandError("--runs must be at least 1", code=2)
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-") as tmp:
        model = await model_or_tiny(args.model, Path(tmp))
        result, comparisons = await _run(ctx, model, Path(tmp), args.runs, args.repack)
    title = (
        f"bench inference: {result['model']} ({result['model_path']}), {result['runs']} runs "
        f"interleaved, same prompt/grammar/max_tokens, greedy, weight repacking "
        f"{'on' if result['repack_weights'] else 'off'}"
    )
    report(comparisons, as_json=args.json, title=title, figures=result, lines=_lines(result))
    return EXIT_OK if result["identical"] == result["runs"] else EXIT_ERROR


@dataclass
class AgentPath:
    """A bus, the llm agent and an engine of one isolation, answering published events."""

    engine: Any
    bus: Any
    agents: Any
    decisions: Any

    async def decide(self, timeout: float) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        cause = self.bus.publish(
            "MOTION_DETECTED", {"location": "front_door"}, source=self.bus.source_for("bench")
        )
        while True:
            decision = await asyncio.wait_for(self.decisions.get(), timeout)
            if decision.data.get("event_id") == cause.id:
                return (time.perf_counter() - t0) * 1000.0, decision.data

    async def stop(self) -> None:
        self.decisions.close()
        await self.agents.stop()
        await self.bus.stop()
        await self.engine.stop()


async def _agent_path(cfg: Any, tmp: Path, isolation: str) -> AgentPath:
    from edgetui.agent_host import AgentSupervisor
    from edgetui.bus import EventBus
    from edgetui.config import AgentsConfig, BusConfig
    from edgetui.inference import InferenceEngine

    state = tmp / isolation
    state.mkdir()
    engine = InferenceEngine(cfg, state, isolation=isolation)
    await engine.start()
    if not engine.available:
        raise CommandError(f"model refused: {engine.unavailable_reason}")
    bus = EventBus(BusConfig(), "bench")
    await bus.start()
    agents = AgentSupervisor(
        AgentsConfig(enabled=["llm"], settings={"llm": {"recent_events": 0}}),
        bus=bus, inference=engine, device_id="bench", device_type="bench", state_dir=state,
    )  # fmt: skip
    await agents.start()
    path = AgentPath(engine, bus, agents, bus.subscribe("DECISION", name="bench"))
    while agents.states["llm"].status != "idle":
        await asyncio.sleep(0.01)
    return path


async def _run(
    ctx: Context, model: Path, tmp: Path, runs: int, repack: bool
) -> tuple[dict[str, Any], list[Comparison]]:
    from edgetui.config import InferenceConfig

    base = ctx.config.inference
    # Greedy sampling on every path: the same prompt must give the same tokens, so the
    # latencies measure the same work. Weight repacking as configured (default off).
    cfg = InferenceConfig(
        model_path=str(model), n_threads=base.n_threads, n_ctx=base.n_ctx,
        max_tokens=base.max_tokens, timeout_s=max(base.timeout_s, 120.0), temperature=0.0,
        repack_weights=base.repack_weights, restart_backoff_s=base.restart_backoff_s,
    )  # fmt: skip
    proc = await _agent_path(cfg, tmp, "process")
    thread = await _agent_path(cfg, tmp, "thread")
    bare = await BareProcess.start(model, cfg, cfg.repack_weights)
    repacked = await BareProcess.start(model, cfg, True) if repack else None
    raws: dict[str, str] = {}

    async def side(path: AgentPath, name: str) -> list[float]:
        samples = []
        for _ in range(BLOCK):
            ms, data = await path.decide(cfg.timeout_s)
            if data.get("source") != "model":
                raise CommandError(f"unexpected decision: {data.get('reason')}")
            raws[name] = str(data.get("raw"))
            samples.append(ms)
        return samples[1:]  # the first call after another path's is the switch, not the path

    async def bare_side(call: BareProcess, name: str) -> list[float]:
        samples = []
        for _ in range(BLOCK):
            ms, text = await call.call(proc.engine.last_prompt or "")
            raws[name] = text
            samples.append(ms)
        return samples[1:]

    variants: dict[str, Any] = {
        "process": lambda: side(proc, "process"),
        "thread": lambda: side(thread, "thread"),
        "bare": lambda: bare_side(bare, "bare"),
    }
    if repacked is not None:
        variants["repacked"] = lambda: bare_side(repacked, "repacked")
    identical = 0

    def check_round(i: int) -> None:
        # Called before round i: the round before it gave every path's text.
        nonlocal identical
        if i > WARMUP and len(set(raws.values())) == 1:
            identical += 1
        raws.clear()

    try:
        # The first round runs the process path first, so the bare call has its prompt.
        rounds = await run_rounds_async(
            variants, rounds=runs, warmup=WARMUP, measure="result", before_round=check_round
        )
        check_round(WARMUP + runs + 1)
        recoveries = [await _recovery(proc, cfg.timeout_s) for _ in range(RECOVERIES)]
    finally:
        await proc.stop()
        await thread.stop()
        await bare.stop()
        if repacked is not None:
            await repacked.stop()
    comparisons = _comparisons(rounds, repacked is not None)
    out = _figures(proc.engine, model, runs, rounds)
    out["identical"] = identical
    out["recovery_ms"] = [round(r, 1) for r in recoveries]
    out["recovery_p50_ms"] = round(percentile(recoveries, 50) or 0.0, 1)
    out["restart_backoff_s"] = cfg.restart_backoff_s
    out["repack_weights"] = cfg.repack_weights
    out["goal_met"] = all_met(comparisons)
    return out, comparisons


def _comparisons(rounds: Rounds, repacked: bool) -> list[Comparison]:
    """The worker process and the in-thread engine against the bare call at p50/p95/p99
    (goals on the process path's p50 and p95), and the repacking's price."""
    goals = {"p50": Goal("<=", GOAL_P50), "p95": Goal("<=", GOAL_P95)}
    out = [
        rounds.compare(
            name,
            "bare",
            name=f"{name} path / bare call, {stat}",
            unit="ms",
            stat=stat,
            goal=goals.get(stat) if name == "process" else None,
        )
        for name in ("process", "thread")
        for stat in ("p50", "p95", "p99")
    ]
    if repacked:
        out.append(
            rounds.compare(
                "bare",
                "repacked",
                name="bare call, weights not repacked / repacked, p50",
                unit="ms",
                stat="p50",
            )
        )
    return out


async def _recovery(path: AgentPath, timeout: float) -> float:
    """SIGKILL the worker, then publish until a decision comes from the model again: the
    time from the kill to that decision (restart backoff, spawn, load, first answer)."""
    supervisor = path.engine.supervisor
    pid = supervisor.worker.pid if supervisor and supervisor.worker else None
    if pid is None:
        raise CommandError("no worker process to kill")
    t0 = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    while True:
        _, data = await path.decide(timeout)
        if data.get("source") == "model":
            return (time.perf_counter() - t0) * 1000.0
        await asyncio.sleep(0.01)


def _stats(values: list[float]) -> dict[str, float]:
    return {f"p{p}_ms": round(percentile(values, p) or 0.0, 2) for p in (50, 95, 99)}


def _figures(engine: Any, model: Path, runs: int, rounds: Rounds) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": engine.model_name, "model_path": str(model), "runs": runs,
        "calls_per_round": BLOCK, "samples_per_path": runs * (BLOCK - 1),
    }  # fmt: skip
    for name, blocks in rounds.results.items():
        out[name] = _stats([float(v) for block in blocks for v in block])
    for name in ("process", "thread"):
        for p in (50, 95, 99):
            b = out["bare"][f"p{p}_ms"]
            out[f"ratio_{name}_p{p}"] = round(out[name][f"p{p}_ms"] / b, 3) if b else None
    if "repacked" in out:
        r50 = out["repacked"]["p50_ms"]
        out["ratio_unpacked_to_repacked_p50"] = (
            round(out["bare"]["p50_ms"] / r50, 3) if r50 else None
        )
    out["goal"] = f"process/bare p50 <= {GOAL_P50:.2f}x and p95 <= {GOAL_P95:.2f}x"
    return out


def _lines(r: dict[str, Any]) -> list[str]:
    """The bench's own lines: the paths side by side, the recovery, identical outputs."""
    out = [f"{'':<40}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"]
    rows = [
        ("bare llama-cpp-python call", "bare"),
        ("agent path, worker process (runtime)", "process"),
        ("agent path, worker thread (before)", "thread"),
        ("bare call, weights repacked", "repacked"),
    ]
    for label, key in rows:
        if key in r:
            s = r[key]
            out.append(f"{label:<40}{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}{s['p99_ms']:>9.2f}")
    out.append(
        f"worker SIGKILL -> first model decision again: p50 {r['recovery_p50_ms']:.0f} ms "
        f"({', '.join(f'{v:.0f}' for v in r['recovery_ms'])}; restart backoff "
        f"{r['restart_backoff_s']:g} s)"
    )
    out.append(f"identical outputs on all paths: {r['identical']}/{r['runs']}")
    return out
