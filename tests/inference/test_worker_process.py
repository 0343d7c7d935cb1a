"""The model runs in a worker process: a crash, a hang or a memory blow-up there costs the
answers in flight (the rule policy answers them, saying why), never the engine; the worker is
restarted with backoff, and given up on after `max_crashes`.

Crashes come from fault points in the worker (`EDGETUI_FAULT`, inherited by the child that
the engine spawns; this process never reads it again) or from signals sent to its pid."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from edgetui.inference import InferenceEngine
from edgetui.models.event import Event
from edgetui.models.inference_section import WorkerSection
from tests.inference.helpers import started_engine

pytestmark = pytest.mark.timeout(120)
CTX = {"hour": 23}


def motion() -> Event:
    return Event(type="MOTION_DETECTED", source="edgetui://t/sensor", data={"location": "door"})


async def until(cond, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.02)


def worker(engine: InferenceEngine) -> WorkerSection:
    section = engine.section().worker
    assert section is not None
    return section


async def test_llama_runs_in_a_child_process_and_answers_as_before(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = await started_engine(state_dir, model_path=str(tiny_model), temperature=0.0)
    try:
        w = worker(engine)
        assert w.state == "running" and w.pid != os.getpid() and w.restarts == 0
        import psutil

        assert psutil.Process(w.pid).ppid() == os.getpid()
        d = await engine.decide(motion(), CTX)
        assert d.source == "model" and d.confidence is not None
        done = engine.stats.last
        assert done is not None and done.total_ms >= (done.ttft_ms or 0.0) >= done.queue_ms
        assert engine.section().isolation == "process"
    finally:
        await engine.stop()
    assert engine.section().worker is None  # stopped: no worker, nothing made up


async def test_a_crash_in_flight_gets_the_rules_answer_and_the_worker_comes_back(
    state_dir: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every worker dies (SIGSEGV) at its second request.
    monkeypatch.setenv("EDGETUI_FAULT", f"inference.worker.decide={tiny_model.name}@2:SEGV")
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), temperature=0.0, restart_backoff_s=0.05
    )
    try:
        first = await engine.decide(motion(), CTX)
        assert first.source == "model"
        crashed = await engine.decide(motion(), CTX)
        assert crashed.source == "fallback"
        assert crashed.reason.startswith("model crashed (signal 11); rule: ")
        assert crashed.action == "SPEAK_WARNING"  # the rule policy's answer: motion at night
        w = worker(engine)
        assert w.crashes == 1 and w.last_exit.cause == "signal 11"
        assert w.last_exit.during == "decide"
        await until(lambda: engine.available)
        again = await engine.decide(motion(), CTX)
        assert again.source == "model"
        w = worker(engine)
        assert w.restarts == 1 and w.state == "running" and w.recovery_ms > 0
        assert engine.section().errors == 1
    finally:
        await engine.stop()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
async def test_a_worker_killed_from_outside_is_restarted(
    state_dir: Path, tiny_model: Path, sig: signal.Signals
) -> None:
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), temperature=0.0, restart_backoff_s=0.05
    )
    try:
        pid = worker(engine).pid
        os.kill(pid, sig)
        await until(lambda: worker(engine).crashes == 1)
        assert worker(engine).last_exit.cause == f"signal {int(sig)}"
        await until(lambda: engine.available)
        assert worker(engine).pid not in (None, pid)
        assert (await engine.decide(motion(), CTX)).source == "model"
    finally:
        await engine.stop()


async def test_a_model_that_crashes_on_load_is_given_up_on_after_max_crashes(
    state_dir: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETUI_FAULT", "inference.worker.load:SEGV")
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), restart_backoff_s=0.05, max_crashes=3
    )
    try:
        assert not engine.available
        assert f"{tiny_model.name}: model worker crashed (signal 11) on load" in str(
            engine.unavailable_reason
        )
        await until(lambda: worker(engine).state == "failed")
        w = worker(engine)
        assert w.crashes == 3 and w.restarts == 2 and w.pid is None
        assert "3 crashes in 600 s: giving up" in str(engine.unavailable_reason)
        d = await engine.decide(motion(), CTX)
        assert d.source == "fallback" and "giving up" in d.reason
        await asyncio.sleep(0.3)  # long past the backoff: nothing is restarted any more
        assert worker(engine).restarts == 2
    finally:
        await engine.stop()


async def test_the_backoff_grows_while_the_worker_never_answers(
    state_dir: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGETUI_FAULT", "inference.worker.load:SEGV")
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), restart_backoff_s=0.1, max_crashes=9
    )
    try:
        delays = []
        for n in (1, 2, 3):
            await until(lambda n=n: worker(engine).crashes == n)  # type: ignore[misc]
            delays.append(str(engine.unavailable_reason).rsplit("restarting in ", 1)[1])
        assert delays == ["0.1 s", "0.2 s", "0.4 s"]
    finally:
        await engine.stop()


async def test_a_hung_worker_is_killed_and_its_request_gets_the_rules(
    state_dir: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first worker stops itself (SIGSTOP) at its first request: alive, silent.
    monkeypatch.setenv("EDGETUI_FAULT", f"inference.worker.decide={tiny_model.name}:STOP")
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), timeout_s=0.3, restart_backoff_s=0.05
    )
    try:
        d = await engine.decide(motion(), CTX)
        assert d.source == "fallback" and "timeout_s=0.3s" in d.reason
        await until(lambda: worker(engine).crashes == 1)
        cause = worker(engine).last_exit.cause
        assert cause.startswith("hung: no answer in ") and cause.endswith("killed")
        await until(lambda: engine.available)
    finally:
        await engine.stop()


async def test_a_worker_over_max_rss_mb_is_killed_naming_the_file(
    state_dir: Path, tiny_model: Path
) -> None:
    engine = await started_engine(
        state_dir, model_path=str(tiny_model), max_rss_mb=1, max_crashes=1
    )
    try:
        await until(lambda: worker(engine).state == "failed")
        reason = str(engine.unavailable_reason)
        assert reason.startswith(f"{tiny_model.name}: model worker crashed (memory ")
        assert "MB > max_rss_mb=1, killed) on load; 1 crash in 600 s: giving up" in reason
        assert (await engine.decide(motion(), CTX)).source == "fallback"
    finally:
        await engine.stop()


async def test_a_stopped_engine_leaves_no_worker_process(state_dir: Path, tiny_model: Path) -> None:
    import psutil

    engine = await started_engine(state_dir, model_path=str(tiny_model))
    pid = worker(engine).pid
    await engine.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


async def test_a_q4_0_model_loads_and_decides(state_dir: Path) -> None:
    """The shipped q4_0 model (the quantisation that segfaulted under AMX repacking) runs
    on the pinned llama-cpp-python, loaded without repacking."""
    from edgetui.inference import SHIPPED_REGRESSED_MODEL, gguf_metadata

    assert gguf_metadata(SHIPPED_REGRESSED_MODEL)["general.file_type"] == 2  # MOSTLY_Q4_0
    engine = await started_engine(
        state_dir, model_path=str(SHIPPED_REGRESSED_MODEL), temperature=0.0
    )
    try:
        assert engine.available, engine.unavailable_reason
        d = await engine.decide(motion(), {"hour": 12})
        assert d.source == "model" and d.action in ("NOTIFY", "SPEAK_WARNING", "IGNORE")
        assert worker(engine).crashes == 0
    finally:
        await engine.stop()


async def test_a_worker_that_cannot_be_started_is_a_refusal_not_a_crash(
    state_dir: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgetui.inference import process

    monkeypatch.setattr(process.sys, "executable", str(state_dir / "no-python"))
    engine = await started_engine(state_dir, model_path=str(tiny_model))
    try:
        assert not engine.available
        assert str(engine.unavailable_reason).startswith("cannot start the model worker: ")
        assert (await engine.decide(motion(), CTX)).source == "fallback"
    finally:
        await engine.stop()
