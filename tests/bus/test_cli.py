"""`edgetui bus publish|tail` against a real daemon."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import ROOT, env, run_cli, start_daemon


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    cfg = tmp_path / "config.toml"
    # No alerts: a built-in rule reacting to this machine would put ALERT_* on the bus.
    cfg.write_text('[device]\nid = "cli-dev"\n[agents]\nenabled = []\n[alerts]\nenabled = false\n')
    proc = start_daemon(state, config=cfg)
    try:
        yield state
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("--state-dir", str(state), "bus", *args)


def test_publish_then_tail_history(daemon: Path) -> None:
    ids = []
    for loc in ("front_door", "yard", "garage"):
        proc = cli(
            daemon, "publish", "MOTION_DETECTED", "--data", json.dumps({"location": loc}), "--json"
        )
        assert proc.returncode == 0, proc.stderr
        ev = json.loads(proc.stdout)
        assert ev["source"] == "edgetui://cli-dev/cli" and ev["specversion"] == "1.0"
        ids.append(ev["id"])
    proc = cli(daemon, "publish", "TEMPERATURE", "--data", '{"value": 21.5}')
    assert proc.returncode == 0 and "published TEMPERATURE" in proc.stdout
    proc = cli(daemon, "tail", "--json", "--count", "3", "--type", "MOTION_*")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["id"] for e in lines] == ids
    assert [e["data"]["location"] for e in lines] == ["front_door", "yard", "garage"]
    proc = cli(daemon, "tail", "--count", "1", "-n", "1")
    assert proc.returncode == 0 and "TEMPERATURE" in proc.stdout and '"value":21.5' in proc.stdout


def test_tail_follows_live_events(daemon: Path) -> None:
    tail = subprocess.Popen(
        [sys.executable, "-m", "edgetui", "--state-dir", str(daemon), "bus", "tail", "--json",
         "--count", "2", "-n", "0", "--type", "SPEAK_WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        n = 0
        # Keep publishing until tail has seen two (it may subscribe after the first ones).
        while tail.poll() is None and time.monotonic() < deadline:
            n += 1
            cli(daemon, "publish", "NOTIFY")
            cli(daemon, "publish", "SPEAK_WARNING", "--data", json.dumps({"message": f"m{n}"}))
            time.sleep(0.2)
        out, err = tail.communicate(timeout=20)
    finally:
        if tail.poll() is None:
            tail.kill()
    assert tail.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 2
    assert all(e["type"] == "SPEAK_WARNING" for e in events)


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"'])
def test_publish_bad_data_is_a_usage_error(daemon: Path, data: str) -> None:
    proc = cli(daemon, "publish", "MOTION_DETECTED", "--data", data)
    assert proc.returncode == 2
    assert "--data" in proc.stderr and proc.stdout == ""


def test_publish_bad_type_is_a_usage_error(daemon: Path) -> None:
    proc = cli(daemon, "publish", "devices/x/+")
    assert proc.returncode == 2
    assert "not a plain name" in proc.stderr


async def test_tail_history_runs_into_live_events_without_a_gap(daemon: Path) -> None:
    """Events published while `tail` switches from history to live ones are all printed:
    tail subscribes first and reads the history once the subscription is in place."""
    from edgetui.control import RuntimeClient, socket_path

    client = await RuntimeClient.connect(socket_path(daemon))
    published = 0
    stop = asyncio.Event()

    async def pump() -> None:
        nonlocal published
        while not stop.is_set():
            await client.call("bus.publish", {"type": "TICK", "data": {"n": published + 1}})
            published += 1
            await asyncio.sleep(0.001)  # a lively bus, not a flood the 256-deep queue drops

    task = asyncio.create_task(pump())
    try:
        while published < 20:
            await asyncio.sleep(0.01)
        tail = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edgetui", "--state-dir", str(daemon), "bus", "tail",
            "--json", "-n", "10", "--count", "80", "--type", "TICK",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env(), cwd=ROOT,
        )  # fmt: skip
        out, err = await asyncio.wait_for(tail.communicate(), 60)
    finally:
        stop.set()
        await task
        await client.close()
    assert tail.returncode == 0, err
    ns = [json.loads(line)["data"]["n"] for line in out.decode().splitlines()]
    assert len(ns) == 80
    assert ns == list(range(ns[0], ns[0] + 80)), "tail skipped or repeated events"


async def test_tail_prints_no_older_event_after_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """More events than -n published between tail's subscription and its history read
    (a lively bus, a tail process the machine left waiting): the history shows the last
    N, and the older ones, which the subscription delivers too, are not printed after
    them. A fake daemon puts that interleaving in place deterministically."""
    import argparse
    import contextlib
    from collections.abc import AsyncIterator
    from typing import Any

    from edgetui.api import Notification
    from edgetui.cli.bus import cmd_tail
    from edgetui.cli.context import Context
    from edgetui.config import Config

    events = [
        {"id": f"e{n}", "type": "TICK", "source": "t", "data": {"n": n}} for n in range(1, 18)
    ]

    class Daemon:
        async def subscribe(self, kinds: Any) -> AsyncIterator[Notification]:
            yield Notification("subscribed", {})
            for ev in events:  # all published after the subscription
                yield Notification("event", ev)

        async def call(self, method: str, params: dict[str, Any]) -> Any:
            assert method == "bus.history"
            return events[:15][-params["limit"] :]  # 15 published by the time of the read

    @contextlib.asynccontextmanager
    async def api(self: Context, **_: Any) -> AsyncIterator[Daemon]:
        yield Daemon()

    monkeypatch.setattr(Context, "api", api)
    args = argparse.Namespace(history=10, count=12, type="TICK", json=True)
    assert await cmd_tail(Context(args=args, config=Config(), state_dir=tmp_path)) == 0
    ns = [json.loads(line)["data"]["n"] for line in capsys.readouterr().out.splitlines()]
    assert ns == list(range(6, 18))
