"""Supervision: crashes restart with backoff, others unaffected; slot agents override."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.agents.helpers import make_bus, supervisor, wait_for

CRASHER = """
async def run(ctx):
    ctx.set_status("idle")
    sub = ctx.subscribe("PING")
    async for ev in sub:
        raise RuntimeError(f"boom on {ev.data['n']}")
"""
COUNTER = """
async def run(ctx):
    ctx.set_status("idle", {"seen": 0})
    seen = 0
    async for ev in ctx.subscribe("PING"):
        seen += 1
        ctx.set_status("idle", {"seen": seen})
"""


@pytest.fixture
def agents_dir(tmp_path: Path) -> Path:
    d = tmp_path / "agents"
    d.mkdir()
    (d / "crasher.py").write_text(CRASHER)
    (d / "counter.py").write_text(COUNTER)
    (d / "returner.py").write_text("async def run(ctx):\n    return None\n")
    (d / "broken.py").write_text("def run(ctx:\n")
    return d


async def test_agent_raising_on_every_event_restarts_with_backoff_others_unaffected(
    state_dir: Path, agents_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await make_bus()
    sup = supervisor(bus, state_dir, ["crasher", "counter"], agents_dir=agents_dir)
    await sup.start()
    restart_times: list[float] = []
    try:
        states = sup.states
        await wait_for(lambda: states["counter"].detail.get("seen") == 0)
        last = 0
        n = 0
        while len(restart_times) < 4:
            await wait_for(lambda: states["crasher"].status in ("idle", "running"))
            await asyncio.sleep(0.05)  # let it subscribe
            bus.publish("PING", {"n": n}, source="edgetui://test-device/test")
            n += 1
            await wait_for(lambda before=last: states["crasher"].restarts > before)
            restart_times.append(time.monotonic())
            last = states["crasher"].restarts
        crasher = {a.name: a for a in sup.section()}["crasher"]
        assert crasher.restarts >= 4
        assert "RuntimeError: boom on" in crasher.last_error
        # Each event crashed it; the counter saw every single one and never restarted.
        counter = {a.name: a for a in sup.section()}["counter"]
        assert counter.restarts == 0 and counter.last_error is None
        assert counter.status == "idle" and counter.detail["seen"] == n
        assert "agent crasher crashed" in caplog.text
        # Backoff doubles: the delays logged grow 0.05, 0.10, 0.20, 0.40 (capped).
        delays = [
            float(r.getMessage().split(" in ")[1].rstrip("s"))
            for r in caplog.records
            if r.getMessage().startswith("agent crasher restarts in")
        ]
        assert delays[:4] == [0.05, 0.1, 0.2, 0.4]
    finally:
        await sup.stop()
        await bus.stop()


async def test_returning_or_unloadable_agents_are_errors_and_retried(
    state_dir: Path, agents_dir: Path
) -> None:
    bus = await make_bus()
    sup = supervisor(bus, state_dir, ["returner", "broken", "nosuch"], agents_dir=agents_dir)
    await sup.start()
    try:
        await wait_for(lambda: all(s.restarts >= 1 for s in sup.states.values()))
        by = {a.name: a for a in sup.section()}
        assert "returned" in by["returner"].last_error
        assert "SyntaxError" in by["broken"].last_error
        assert "ModuleNotFoundError" in by["nosuch"].last_error
    finally:
        await sup.stop()
        await bus.stop()
    assert all(s.status == "updating" for s in sup.section())


async def test_slot_agent_overrides_the_builtin_and_restart_method(
    state_dir: Path, agents_dir: Path
) -> None:
    (agents_dir / "speaker.py").write_text(COUNTER)
    bus = await make_bus()
    sup = supervisor(bus, state_dir, ["speaker", "llm"], agents_dir=agents_dir)
    await sup.start()
    try:
        await wait_for(lambda: sup.states["llm"].status == "idle")
        by = {a.name: a for a in sup.section()}
        assert by["speaker"].origin == str(agents_dir / "speaker.py")
        assert by["llm"].origin == "built-in agents.llm"
        result = await sup.methods()["agents.restart"]({"name": "llm"})
        assert {a["name"]: a for a in result}["llm"]["restarts"] == 1
        await wait_for(lambda: sup.states["llm"].status == "idle")
    finally:
        await sup.stop()
        await bus.stop()


async def test_agent_modules_and_the_slot_record_load_off_the_event_loop(
    tmp_path: Path, agents_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exec_module compiles a file and slot.json is read from disk: both run in a thread."""
    import threading

    import edgetui.agent_host.supervisor as sup

    threads: dict[str, int] = {}
    real_load, real_slot_dir = sup.load_agent, sup.slot_agents_dir

    def load_agent(name: str, where: Path | None):  # type: ignore[no-untyped-def]
        threads["load_agent"] = threading.get_ident()
        return real_load(name, where)

    def slot_agents_dir(state_dir: Path) -> Path | None:
        threads["slot_agents_dir"] = threading.get_ident()
        real_slot_dir(state_dir)
        return agents_dir

    monkeypatch.setattr(sup, "load_agent", load_agent)
    monkeypatch.setattr(sup, "slot_agents_dir", slot_agents_dir)
    bus = await make_bus()
    sv = supervisor(bus, tmp_path, ["counter"])
    sv.slot_agents = True
    await sv.start()
    try:
        await wait_for(lambda: sv.section()[0].status == "idle")
        assert sv.section()[0].origin == str(agents_dir / "counter.py")
        loop_thread = threading.get_ident()
        assert set(threads) == {"load_agent", "slot_agents_dir"}
        assert loop_thread not in threads.values()
    finally:
        await sv.stop()
        await bus.stop()
