"""The inference engine on the real tiny model: decisions, figures, refusals, timeouts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from edgetui.bus.event_bus import EventBus
from edgetui.config import BusConfig
from edgetui.inference.engine import InferenceBusy, InferenceTimeout, InferenceUnavailable
from edgetui.inference.golden import run_golden
from edgetui.inference.stats import percentile
from edgetui.models.decision import ACTIONS
from edgetui.models.event import Event
from edgetui.models.serde import to_dict
from tests.inference.helpers import make_slot, started_engine

CTX = {"time_of_day": "23:10 (night)", "hour": 23, "expected_visitors": []}
SECTION_KEYS = {
    "model", "version", "sha256", "load_ms", "p50_ms", "p95_ms", "p99_ms", "ttft_ms",
    "tokens_per_s", "requests", "errors", "timeouts", "last_decision", "available", "reason",
    "latency_history",
}  # fmt: skip


def copy_prefix(src: Path, dst: Path, size: int) -> Path:
    """A truncated copy of `src` (its first `size` bytes)."""
    dst.write_bytes(src.read_bytes()[:size])
    return dst


def motion(where: str = "front_door") -> Event:
    return Event(type="MOTION_DETECTED", source="edgetui://t/sensor", data={"location": where})


async def test_decisions_from_the_model_always_parse_to_an_allowed_action(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = await started_engine(state_dir, model_path=str(tiny_model), temperature=1.0)
    try:
        assert engine.available, engine.unavailable_reason
        for i in range(15):
            d = await engine.decide(motion(f"door{i}"), CTX)
            assert d.source == "model", d.reason
            assert d.action in ACTIONS
            assert json.loads(d.raw or "")["action"] == d.action
            assert d.event_type == "MOTION_DETECTED" and d.location == f"door{i}"
        s = engine.section()
        assert set(to_dict(s)) >= SECTION_KEYS
        assert s.requests == 15 and s.errors == 0 and s.timeouts == 0
        assert 0 < s.p50_ms <= s.p95_ms <= s.p99_ms
        assert s.ttft_ms is not None and s.ttft_ms <= s.p99_ms
        assert s.tokens_per_s > 0
        assert len(s.latency_history) == 15
        assert s.last_decision.event_type == "MOTION_DETECTED"
        assert s.model == "edgetui-tiny" and s.origin == "config"
        json.dumps(to_dict(s))  # JSON-ready
    finally:
        await engine.stop()


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


async def test_slot_model_with_matching_checksum_loads_with_the_slot_version(
    state_dir: Path, tiny_model: Path, tiny_sha256: str
) -> None:
    make_slot(state_dir, tiny_model, tiny_sha256, version="2.0.1")
    engine = await started_engine(state_dir)
    try:
        s = engine.section()
        assert s.available and s.origin == "slot"
        assert s.version == "2.0.1" and s.sha256 == tiny_sha256
        assert s.load_ms > 0
    finally:
        await engine.stop()


async def refused(engine, words: str) -> None:
    s = engine.section()
    assert not engine.available and not s.available
    assert words in s.reason, s.reason
    with pytest.raises(InferenceUnavailable):
        await engine.complete("hello")
    d = await engine.decide(motion(), CTX)
    assert d.source == "fallback"
    assert d.action == "SPEAK_WARNING"  # the rule for motion at night
    assert d.reason.startswith("model unavailable: ") and words in d.reason
    assert engine.section().last_decision.source == "fallback"
    await engine.stop()


async def test_missing_model_is_refused_with_fallback(state_dir: Path) -> None:
    engine = await started_engine(state_dir, model_path=str(state_dir / "nope.gguf"))
    await refused(engine, "model file missing")


async def test_no_model_at_all_is_refused_with_fallback(state_dir: Path) -> None:
    await refused(await started_engine(state_dir), "no model configured")


async def test_the_slot_record_is_read_off_the_event_loop(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import edgetui.inference.engine as engine_module

    seen: list[int] = []
    real = engine_module.choose_model

    def choose_model(*args: object) -> engine_module.ModelChoice:
        seen.append(threading.get_ident())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "choose_model", choose_model)
    make_slot(state_dir, None, None)
    engine = await started_engine(state_dir)
    assert seen and seen[0] != threading.get_ident()
    await engine.stop()


async def test_truncated_slot_model_fails_its_checksum(
    state_dir: Path, tiny_model: Path, tiny_sha256: str
) -> None:
    slot = make_slot(state_dir, tiny_model, tiny_sha256)
    model = slot / "model" / "m.gguf"
    copy_prefix(model, model, 100_000)
    await refused(await started_engine(state_dir), "checksum mismatch")


async def test_truncated_model_without_a_checksum_is_still_refused(
    state_dir: Path, tiny_model: Path
) -> None:
    cut = copy_prefix(tiny_model, state_dir / "cut.gguf", 150_000)
    await refused(await started_engine(state_dir, model_path=str(cut)), "not a readable GGUF")


async def test_tampered_model_wrong_checksum_is_refused(
    state_dir: Path, tiny_model: Path, tiny_sha256: str
) -> None:
    make_slot(state_dir, tiny_model, "0" * 64)
    await refused(await started_engine(state_dir), "checksum mismatch")


async def test_config_model_with_wrong_checksum_is_refused(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = await started_engine(state_dir, model_path=str(tiny_model), model_sha256="ab" * 32)
    await refused(engine, "checksum mismatch")


async def test_slot_record_without_checksum_is_refused(state_dir: Path, tiny_model: Path) -> None:
    make_slot(state_dir, tiny_model, None)
    await refused(await started_engine(state_dir), "no model_sha256")


async def test_timeout_is_counted_and_the_bus_keeps_flowing(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), timeout_s=0.02, n_ctx=1024, temperature=1.0
    )
    bus = EventBus(BusConfig(), "t")
    await bus.start()
    sub = bus.subscribe("TICK", name="watcher")
    try:
        # Without a grammar the random model rambles up to max_tokens: far beyond 20 ms.
        slow = asyncio.create_task(engine.complete("x" * 600, max_tokens=400))
        for i in range(20):
            bus.publish("TICK", {"i": i}, source="edgetui://t/test")
            assert (await asyncio.wait_for(sub.get(), 5)).data["i"] == i
        with pytest.raises(InferenceTimeout, match="timeout_s"):
            await slow
        s = engine.section()
        assert s.timeouts == 1 and s.requests == 1
        # The timed-out job was cancelled, the worker is free again.
        engine.config.timeout_s = 30.0
        done = await engine.complete("hello", max_tokens=4)
        assert done.completion_tokens >= 1
        # decide() turns a timeout into the fallback and says so.
        engine.config.timeout_s = 0.0005
        d = await engine.decide(motion(), CTX)
        assert d.source == "fallback" and "inference failed" in d.reason
        assert engine.section().timeouts == 2
    finally:
        sub.close()
        await bus.stop()
        await engine.stop()


async def test_full_queue_rejects_and_counts(state_dir: Path, tiny_model: Path) -> None:
    engine = await started_engine(state_dir, model_path=str(tiny_model), queue_size=1)
    try:
        tasks = [asyncio.create_task(engine.complete("y" * 300, max_tokens=300)) for _ in range(4)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        busy = [r for r in results if isinstance(r, InferenceBusy)]
        assert busy, results
        assert engine.section().errors >= len(busy)
    finally:
        await engine.stop()


async def test_golden_passes_with_the_model_and_fails_without(
    state_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    golden = tmp_path / "golden.json"
    cases = [
        {
            "event": {"type": "MOTION_DETECTED", "data": {"location": "gate"}},
            "allowed": list(ACTIONS),
        },
        {"event": {"type": "SOUND_LEVEL", "data": {"db": 95}}, "allowed": list(ACTIONS)},
    ]
    golden.write_text(json.dumps(cases))
    engine = await started_engine(state_dir, model_path=str(tiny_model))
    try:
        result = await run_golden(engine, golden)
        assert result.ok and result.passed == result.total == 2, result.detail
        bad = tmp_path / "bad.json"
        bad.write_text("[{}]")
        assert not (await run_golden(engine, bad)).ok
        narrow = tmp_path / "narrow.json"
        narrow.write_text(json.dumps([{**cases[0], "allowed": ["NOPE"]}]))
        res = await run_golden(engine, narrow)
        assert not res.ok and "not in" in res.detail
    finally:
        await engine.stop()
    missing = await started_engine(state_dir, model_path=str(tmp_path / "none.gguf"))
    res = await run_golden(missing, golden)
    assert not res.ok and "model unavailable" in res.detail
    await missing.stop()


async def test_a_cancelled_caller_leaves_no_unread_error_behind(
    state_dir: Path, tiny_model: Path
) -> None:
    """A request whose caller is cancelled (a drill's probe pump, an agent at a stop) is
    cancelled with it: the worker's later WorkerCancelled is not left on a future nobody
    reads, which asyncio reports ("Future exception was never retrieved") from whatever
    garbage collection gets to it, even one inside another traceback's formatting."""
    import gc

    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx["message"]))
    engine = await started_engine(state_dir, model_path=str(tiny_model))
    try:
        for _ in range(3):  # queued behind the first, and the first one running
            task = asyncio.create_task(engine.complete("Once upon a time", max_tokens=256))
            await asyncio.sleep(0)  # submitted: the task now waits for the worker
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await engine.stop()
    for _ in range(5):  # the worker's answers, handed over with call_soon_threadsafe
        await asyncio.sleep(0)
    gc.collect()
    assert reported == []
