"""Regenerate screenshots/ with the app's own save_screenshot, on the real demo device.

    python -m edgetui.tui.screenshots [--out screenshots] [--seconds 4]

Runs the demo device standalone in a temporary state directory (real runtime, real
figures of this machine), so the pictures show what a newcomer sees after `make run`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path

from edgetui.config import load_config
from edgetui.demo import prepare
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
]


async def _shoot(state: Path, out: Path, seconds: float) -> None:
    config_path = prepare(state)
    config = load_config(str(config_path))
    for name, size, keys, kiosk in SHOTS:
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edgetui-shots-") as tmp:
        asyncio.run(_shoot(Path(tmp), out, args.seconds))


if __name__ == "__main__":
    main()
