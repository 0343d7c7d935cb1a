"""Regenerate screenshots/ with the app's own save_screenshot, on the real demo device.

    python -m edgetui.tui.screenshots [--out screenshots] [--seconds 4] [--only NAME ...]

Runs the demo device standalone in a temporary state directory (real runtime, real
figures of this machine), so the pictures show what a newcomer sees after `make run`.
The fleet console's shot needs no broker: its fleet store is filled from the simulator's
own device messages (the bytes a simulated device would publish), with a rollout half-way
through its second wave, created by the same code as `fleet rollout create`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
import time
from pathlib import Path

from edgetui.config import load_config
from edgetui.demo import prepare
from edgetui.fleet import parse_broker
from edgetui.fleet.messages import parse
from edgetui.fleet.rollouts import create_rollout, spec_from_options
from edgetui.fleet.simulator.device import SimDevice
from edgetui.fleet.store import FleetStore, open_store
from edgetui.fleet.ui import FleetApp
from edgetui.keys import generate_keypair
from edgetui.models.vocabulary import ExecutionState, RolloutState
from edgetui.runtime import Runtime
from edgetui.tui.app import EdgeApp

SHOTS = [
    # (file name, terminal size, keys pressed before the shot, kiosk)
    # "m" publishes a test MOTION_DETECTED, so the agent chain has run once.
    ("dashboard.svg", (160, 48), ["m"], False),
    ("dashboard-80x24.svg", (80, 24), [], False),
    ("help.svg", (100, 40), ["question_mark"], False),
    ("ota-apply-confirm.svg", (160, 48), ["i"], False),
    ("kiosk-pin.svg", (100, 30), ["m"], True),
    ("kiosk.svg", (120, 40), [], True),  # the kiosk theme: big digits, high contrast
]
FLEET_SHOT = ("fleet-rollouts.svg", (140, 36), ["o"])


def demo_fleet(root: Path, now: float) -> FleetStore:
    """40 simulated devices in a SQLite fleet store, an earlier rollout that succeeded and
    one in its second wave (successes, one rejection, one failure, updates under way), run
    by another fleet process."""
    store = open_store(str(root / "fleet.db"), root)
    msgs: list[tuple[str, bytes]] = []
    for i in range(40):
        kind = "gateway" if i % 4 == 0 else "camera"
        dev = SimDevice(f"{kind[:3]}-{i:03d}", kind, random.Random(i), low_ram=i == 7)
        dev.started = now - 3600
        msgs += [(dev.status_topic, b"online"), dev.telemetry(now - i), *dev.alert_transitions(now)]
    store.apply([parse(t, p, now) for t, p in msgs], writer="fleet-ops-1", now=now)
    key, _ = generate_keypair(root / "operator")
    rollouts = []
    for version, age in (("0.1.9", 86400.0), ("0.2.0", 900.0)):
        manifest = root / f"manifest-{version}.json"
        manifest.write_text(json.dumps({"version": version}))
        spec = spec_from_options(
            manifest=manifest.as_uri(), key=str(key), waves="5,25,100",
            max_failure_rate="0.2", min_executed="5", health_window="5m", auto_rollback=True,
        )  # fmt: skip
        spec.manifest_url = f"https://ota.example.com/{version}/manifest.json"  # as shipped
        rollouts.append(create_rollout(store, spec, now=now - age, rollout_id=f"r-{version}"))
    done, current = rollouts
    execs = store.executions(done.rollout_id)
    for e in execs:
        e.state, e.attempt, e.finished_at = ExecutionState.SUCCEEDED, 1, done.created_at + 600
    store.save_executions(execs)
    done.state, done.wave, done.updated_at = RolloutState.SUCCEEDED, 2, done.created_at + 1500
    done.wave_done = [done.created_at + 300, done.created_at + 700, done.created_at + 1500]
    store.update_rollout(done)
    execs = store.executions(current.rollout_id)
    E = ExecutionState
    second = iter([E.SUCCEEDED] * 4 + [E.INSTALLED, E.SENT, E.REJECTED, E.FAILED])
    for e in execs:
        if e.wave == 0:
            e.state, e.attempt = ExecutionState.SUCCEEDED, 1
        elif e.wave == 1:
            e.state, e.attempt = next(second), 1
            e.reason = {
                ExecutionState.REJECTED: "insufficient_ram",
                ExecutionState.FAILED: "critical alert in the health window",
            }.get(e.state)
    store.save_executions(execs)
    current.wave, current.wave_done = 1, [current.created_at + 240]
    store.update_rollout(current)
    store.claim_rollout(current.rollout_id, "fleet-ops-2", now=now, lease_s=15)
    return store


async def _shoot_fleet(root: Path, out: Path, seconds: float) -> None:
    name, size, keys = FLEET_SHOT
    now = time.time()
    store = demo_fleet(root, now)
    # A broker is named so that the run key is offered; nothing connects unless it is pressed.
    app = FleetApp(store, clock=lambda: now, broker=parse_broker("mqtt://localhost:1883"))
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(min(seconds, 1.0))
        app.save_screenshot(filename=name, path=str(out))
    store.close()
    print(out / name)


async def _shoot(state: Path, out: Path, seconds: float, only: set[str]) -> None:
    shots = [shot for shot in SHOTS if not only or shot[0] in only]
    if not shots:
        return
    config_path = prepare(state)
    config = load_config(str(config_path))
    for name, size, keys, kiosk in shots:
        runtime = Runtime(config, state, mode="standalone")

        async def connect(rt: Runtime = runtime) -> Runtime:
            await rt.start()
            return rt

        app = EdgeApp(connect, kiosk=kiosk)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(1.0)
            for key in keys:
                await pilot.press(key)
            await pilot.pause(seconds)
            app.save_screenshot(filename=name, path=str(out))
        await runtime.stop()
        print(out / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="e.g. dashboard.svg")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edgetui-shots-") as tmp:
        asyncio.run(_shoot(Path(tmp), out, args.seconds, set(args.only)))
    if not args.only or FLEET_SHOT[0] in args.only:
        with tempfile.TemporaryDirectory(prefix="edgetui-fleet-shot-") as tmp:
            asyncio.run(_shoot_fleet(Path(tmp), out, args.seconds))


if __name__ == "__main__":
    main()
