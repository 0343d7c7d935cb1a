"""Sensor agent: publishes MOTION_DETECTED and readings (TEMPERATURE, SOUND_LEVEL).

Sources, each switched by `[agents.sensor]` settings:
- `simulate = true`: a demo source — motion at `locations` every `motion_interval_s`
  (randomised ±50 %), ambient temperature and sound level every `reading_interval_s`.
  Simulated events carry `"simulated": true`.
- `cpu_temperature_interval_s` (30; 0 = off): the CPU temperature from psutil where the
  platform reports one (TEMPERATURE with `sensor: "cpu"`).
- `source`: a real source of JSON lines, `"-"` for stdin or a file/FIFO path. A line is
  `{"type": "MOTION_DETECTED", "data": {...}}` (or a flat object with `type`); bad lines are
  counted and logged, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import stat
import sys
import threading
from pathlib import Path
from typing import Any

from edgetui.agent_host.context import AgentContext

TYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
MAX_LINE = 64 * 1024


async def run(ctx: AgentContext) -> None:
    """Run the configured sources side by side until cancelled."""
    counters = {"published": 0, "bad_lines": 0}
    ctx.set_status("idle", {"sources": [], **counters})
    sources = []
    if ctx.setting("simulate", False):
        sources.append(("simulated", _simulate(ctx, counters)))
    if ctx.setting("cpu_temperature_interval_s", 30.0) > 0:
        sources.append(("cpu temperature", _cpu_temperature(ctx, counters)))
    path = ctx.setting("source", "")
    if path:
        sources.append((f"lines from {path}", _lines(ctx, path, counters)))
    ctx.set_status("idle", {"sources": [name for name, _ in sources]})
    if not sources:
        await asyncio.Event().wait()  # nothing configured: stay idle, visibly
    async with asyncio.TaskGroup() as group:  # one source failing is an agent crash
        for name, coro in sources:
            group.create_task(coro, name=f"sensor:{name}")


def _emit(ctx: AgentContext, counters: dict[str, int], type_: str, data: dict[str, Any]) -> None:
    ctx.publish(type_, data)
    counters["published"] += 1
    ctx.set_status("idle", dict(counters))


async def _simulate(ctx: AgentContext, counters: dict[str, int]) -> None:
    seed = ctx.setting("seed", -1)
    rng = random.Random(None if seed < 0 else seed)
    locations = [str(x) for x in ctx.setting("locations", ["front_door", "garage", "backyard"])]
    motion_every = max(0.05, ctx.setting("motion_interval_s", 15.0))
    reading_every = max(0.05, ctx.setting("reading_interval_s", 10.0))
    temp, sound = 21.0, 40.0
    loop = asyncio.get_running_loop()
    next_motion = loop.time() + motion_every * rng.uniform(0.5, 1.5)
    next_reading = loop.time()
    while True:
        await asyncio.sleep(max(0.0, min(next_motion, next_reading) - loop.time()))
        now = loop.time()
        if now >= next_reading:
            temp = min(45.0, max(5.0, temp + rng.gauss(0, 0.3)))
            sound = min(110.0, max(25.0, sound + rng.gauss(0, 4.0)))
            where = rng.choice(locations)
            base = {"location": where, "simulated": True}
            _emit(
                ctx,
                counters,
                "TEMPERATURE",
                base | {"sensor": "ambient", "celsius": round(temp, 1)},
            )
            _emit(ctx, counters, "SOUND_LEVEL", base | {"db": round(sound, 1)})
            next_reading = now + reading_every
        if now >= next_motion:
            data = {
                "location": rng.choice(locations),
                "confidence": round(rng.uniform(0.5, 1), 2),
                "simulated": True,
            }
            _emit(ctx, counters, "MOTION_DETECTED", data)
            next_motion = now + motion_every * rng.uniform(0.5, 1.5)


def _read_cpu_temperature() -> float | None:
    import psutil

    read = getattr(psutil, "sensors_temperatures", None)
    if read is None:
        return None
    try:
        groups = read()
    except OSError:
        return None
    for name in ("coretemp", "cpu_thermal", "k10temp", "soc_thermal", *groups):
        for entry in groups.get(name, []):
            if entry.current:
                return float(entry.current)
    return None


async def _cpu_temperature(ctx: AgentContext, counters: dict[str, int]) -> None:
    every = ctx.setting("cpu_temperature_interval_s", 30.0)
    while True:
        celsius = await asyncio.to_thread(_read_cpu_temperature)
        if celsius is None:
            # Returning would end the agent (a crash to the supervisor): idle instead.
            ctx.log.info("no CPU temperature sensor on this platform; not reporting it")
            await asyncio.Event().wait()
        _emit(ctx, counters, "TEMPERATURE", {"sensor": "cpu", "celsius": round(celsius, 1)})
        await asyncio.sleep(every)


def parse_line(line: str) -> tuple[str, dict[str, Any]]:
    """(type, data) from one JSON line; raises ValueError with the reason."""
    if len(line) > MAX_LINE:
        raise ValueError(f"line longer than {MAX_LINE} bytes")
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    type_ = obj.get("type")
    if not isinstance(type_, str) or not TYPE_RE.match(type_):
        raise ValueError(f"missing or invalid type {type_!r}")
    data = obj.get("data", {k: v for k, v in obj.items() if k != "type"})
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    return type_, data


async def _lines(ctx: AgentContext, path: str, counters: dict[str, int]) -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    # A daemon thread, not the default executor: a FIFO's open() may block forever and must
    # not hold up the process when the agent is cancelled.
    threading.Thread(
        target=_read_lines, args=(path, loop, queue, stop), name="sensor-lines", daemon=True
    ).start()
    try:
        while (line := await queue.get()) is not None:
            if not line.strip():
                continue
            try:
                type_, data = parse_line(line)
                _emit(ctx, counters, type_, data)
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                counters["bad_lines"] += 1
                ctx.log.warning("sensor: dropped a bad line from %s: %s", path, exc)
                ctx.set_status("idle", dict(counters))
        ctx.log.info("sensor: %s ended", path)
        await asyncio.Event().wait()  # the source ended; the other sources go on
    finally:
        stop.set()


def _read_lines(
    path: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue, stop: threading.Event
) -> None:
    """Blocking reader thread: stdin, a FIFO (reopened when a writer leaves) or a file."""

    def put(item: str | None) -> None:
        if not stop.is_set():
            with contextlib.suppress(RuntimeError):  # the loop closed
                loop.call_soon_threadsafe(queue.put_nowait, item)

    try:
        if path == "-":
            for line in sys.stdin:
                put(line)
            return
        p = Path(path).expanduser()
        fifo = p.exists() and stat.S_ISFIFO(os.stat(p).st_mode)
        while not stop.is_set():
            with open(p, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if stop.is_set():
                        return
                    put(line)
            if not fifo:
                return
    except OSError as exc:
        put(json.dumps({"error": f"cannot read {path}: {exc}"}))  # counted as a bad line
    finally:
        put(None)
