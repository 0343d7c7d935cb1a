"""`edgetui bench inference`: the same prompt, grammar and model through the full agent path
(MOTION_DETECTED published on the bus -> llm agent -> engine worker -> DECISION event) and as a
bare llama-cpp-python call, interleaved in the same run; p50/p95 of each, ratio, overhead."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from edgetui.bench.model_choice import model_or_tiny
from edgetui.cli.context import EXIT_ERROR, EXIT_OK, CommandError, Context, print_json
from edgetui.inference import percentile

WARMUP = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inference", help="agent-path decision latency vs bare llama-cpp call")
    p.add_argument("--model", metavar="PATH", help="GGUF to use (default: the tiny model)")
    p.add_argument("--runs", type=int, default=30, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench_inference)


async def cmd_bench_inference(ctx: Context) -> int:
    args = ctx.args
    if args.runs < 1:
        raise CommandError("--runs must be at least 1", code=2)
    with tempfile.TemporaryDirectory(prefix="edgetui-bench-") as tmp:
        model = await model_or_tiny(args.model, Path(tmp))
        result = await _run(ctx, model, Path(tmp), args.runs)
    if args.json:
        print_json(result)
    else:
        _print(result)
    return EXIT_OK if result["identical"] == result["runs"] else EXIT_ERROR


async def _run(ctx: Context, model: Path, tmp: Path, runs: int) -> dict[str, Any]:
    import llama_cpp

    from edgetui.agent_host import AgentSupervisor
    from edgetui.bus import EventBus
    from edgetui.config import AgentsConfig, BusConfig, InferenceConfig
    from edgetui.inference import DECISION_GRAMMAR, DECISION_TOKEN_BUDGET

    base = ctx.config.inference
    # Greedy sampling on both paths: the same prompt must give the same tokens, so the two
    # latencies measure the same work.
    cfg = InferenceConfig(
        model_path=str(model), n_threads=base.n_threads, n_ctx=base.n_ctx,
        max_tokens=base.max_tokens, timeout_s=max(base.timeout_s, 120.0), temperature=0.0,
    )  # fmt: skip
    from edgetui.inference import InferenceEngine

    engine = InferenceEngine(cfg, tmp)
    await engine.start()
    if not engine.available:
        raise CommandError(f"model refused: {engine.unavailable_reason}")
    bus = EventBus(BusConfig(), "bench")
    await bus.start()
    agents = AgentSupervisor(
        AgentsConfig(enabled=["llm"], settings={"llm": {"recent_events": 0}}),
        bus=bus, inference=engine, device_id="bench", device_type="bench", state_dir=tmp,
    )  # fmt: skip
    await agents.start()
    decisions = bus.subscribe("DECISION", name="bench")
    bare = await asyncio.to_thread(
        llama_cpp.Llama, model_path=str(model), n_ctx=cfg.n_ctx, n_threads=cfg.n_threads,
        n_threads_batch=cfg.n_threads, verbose=False,
    )  # fmt: skip
    grammar = llama_cpp.LlamaGrammar.from_string(DECISION_GRAMMAR, verbose=False)
    max_tokens = max(cfg.max_tokens, DECISION_TOKEN_BUDGET)

    def bare_call(prompt: str) -> tuple[float, str]:
        t0 = time.perf_counter()
        out = bare.create_completion(
            prompt, grammar=grammar, max_tokens=max_tokens, temperature=0.0
        )
        return (time.perf_counter() - t0) * 1000.0, out["choices"][0]["text"]

    agent_ms: list[float] = []
    bare_ms: list[float] = []
    identical = 0
    try:
        while agents.states["llm"].status != "idle":
            await asyncio.sleep(0.01)
        for i in range(WARMUP + runs):
            t0 = time.perf_counter()
            cause = bus.publish(
                "MOTION_DETECTED", {"location": "front_door"}, source=bus.source_for("bench")
            )
            decision = await asyncio.wait_for(decisions.get(), cfg.timeout_s)
            took = (time.perf_counter() - t0) * 1000.0
            if decision.data.get("event_id") != cause.id or decision.data["source"] != "model":
                raise CommandError(f"unexpected decision: {decision.data.get('reason')}")
            prompt = engine.last_prompt or ""
            b_ms, text = await asyncio.to_thread(bare_call, prompt)
            if i < WARMUP:
                continue
            agent_ms.append(took)
            bare_ms.append(b_ms)
            identical += int(text == decision.data.get("raw"))
    finally:
        decisions.close()
        await agents.stop()
        await bus.stop()
        await engine.stop()
        bare.close()
    return _figures(engine, model, runs, agent_ms, bare_ms, identical)


def _figures(
    engine: Any, model: Path, runs: int, agent: list[float], bare: list[float], identical: int
) -> dict[str, Any]:
    def pct(values: list[float], p: float) -> float:
        return round(percentile(values, p) or 0.0, 2)

    a50, a95, b50, b95 = pct(agent, 50), pct(agent, 95), pct(bare, 50), pct(bare, 95)
    return {
        "model": engine.model_name,
        "model_path": str(model),
        "runs": runs,
        "identical": identical,
        "bare_p50_ms": b50,
        "bare_p95_ms": b95,
        "agent_p50_ms": a50,
        "agent_p95_ms": a95,
        "ratio_p50": round(a50 / b50, 3) if b50 else None,
        "ratio_p95": round(a95 / b95, 3) if b95 else None,
        "overhead_p50_ms": round(a50 - b50, 2),
        "overhead_p95_ms": round(a95 - b95, 2),
    }


def _print(r: dict[str, Any]) -> None:
    print(
        f"bench inference: {r['model']} ({r['model_path']}), {r['runs']} runs, "
        "same prompt/grammar/max_tokens, greedy"
    )
    print(f"{'':<34}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'bare llama-cpp-python call':<34}{r['bare_p50_ms']:>10.2f}{r['bare_p95_ms']:>10.2f}")
    print(f"{'agent path (bus -> llm -> DECISION)':<34}{r['agent_p50_ms']:>10.2f}"
          f"{r['agent_p95_ms']:>10.2f}")  # fmt: skip
    print(f"{'ratio agent/bare':<34}{r['ratio_p50'] or 0:>9.3f}x{r['ratio_p95'] or 0:>9.3f}x")
    print(
        f"{'overhead (agent - bare)':<34}{r['overhead_p50_ms']:>+10.2f}"
        f"{r['overhead_p95_ms']:>+10.2f}"
    )
    print(f"identical outputs on both paths: {r['identical']}/{r['runs']}")
