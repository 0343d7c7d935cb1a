"""Rollouts run from the console: one `RolloutRunner` per rollout on a thread (a Textual
thread worker started by the app), under the store's lease like `fleet rollout run`.

Nothing here touches the screen (only Textual's markup escaping): the app starts and stops
runs, the Rollouts view reads `ConsoleRun.line()` on each refresh tick. Every blocking call
(the store, joining the thread) is made from a thread, never from the event loop.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.markup import escape

from edgetui.fleet.records import iso
from edgetui.fleet.rollouts import RolloutRunner, one_line
from edgetui.fleet.store import FleetStore
from edgetui.models.broker import BrokerAddress

STOP_WAIT_S = 15.0  # a turn under way waits for the broker's PUBACKs (up to 10 s)


def lease_text(owner: str | None, until: float | None, now: float) -> str:
    """Who holds a rollout's lease and until when, in words."""
    if not owner:
        return "free (no runner holds it)"
    if until is None:
        return f"run by {owner}"
    left = until - now
    when = iso(until) or ""
    if left < 0:
        return f"run by {owner} until {when} (expired)"
    return f"run by {owner} until {when} (in {left:.0f} s)"


@dataclass
class ConsoleRun:
    """One rollout run by this console; `work` is the thread worker's body."""

    runner: RolloutRunner
    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    error: str = ""  # what ended run() by an exception, in one line
    state: str = ""  # the rollout's state when the runner returned

    @property
    def rollout_id(self) -> str:
        return self.runner.rollout_id

    @property
    def active(self) -> bool:
        return not self.ended.is_set()

    def work(self) -> None:
        """Run until the rollout is over or `stop` is set; never raises (the UI shows
        `error`). The runner releases its lease when it returns; if it failed before its
        loop began, the lease the console claimed for it is released here."""
        try:
            r = self.runner.run(self.stop)
            self.state = r.state if r is not None else ""
        except Exception as exc:
            self.error = one_line(exc)
            with contextlib.suppress(Exception):
                self.runner.release()
        finally:
            self.ended.set()

    def line(self) -> str:
        """This console's runner in one line of markup, for the Rollouts view."""
        r = self.runner
        if self.error:
            return f"[red]runner failed: {escape(self.error)}[/]"
        if not self.active:
            how = "stopped" if self.stop.is_set() else "finished"
            return f"runner {how}" + (f": {self.state}" if self.state else "") + ", lease released"
        if r.holding:
            text = f"[green]running here[/] as {r.owner}: {r.published} commands published"
        else:
            text = f"[yellow]waiting for the lease[/] as {r.owner}"
        if r.last_error:
            text += f"  [red]last turn failed: {escape(r.last_error)}[/]"
        return text


class ConsoleRuns:
    """The runs this console started, by rollout id (the last one per rollout is kept, so
    the view can say how it ended). `new_runner(rollout_id)` makes a runner (the console's
    owner name, tick, lease and MQTT options); without a `broker` nothing can run."""

    def __init__(
        self,
        store: FleetStore,
        broker: BrokerAddress | None,
        new_runner: Callable[[str], RolloutRunner],
    ) -> None:
        self.store = store
        self.broker = broker
        self.new_runner = new_runner
        self.runs: dict[str, ConsoleRun] = {}

    def get(self, rollout_id: str) -> ConsoleRun | None:
        return self.runs.get(rollout_id)

    def active(self, rollout_id: str) -> bool:
        run = self.runs.get(rollout_id)
        return run is not None and run.active

    def prepare(self, rollout_id: str) -> ConsoleRun:
        """Claim the rollout's lease for a new run (blocking: call in a thread). Raises
        RuntimeError with one line when it cannot run here: no broker, already running here,
        no such rollout, or another fleet process holds the lease."""
        if self.broker is None:
            raise RuntimeError("no broker: start the console with --broker to run rollouts")
        if self.active(rollout_id):
            raise RuntimeError(f"rollout {rollout_id} is already running in this console")
        r = self.store.rollout(rollout_id)
        if r is None:
            raise RuntimeError(f"no rollout {rollout_id!r}")
        runner = self.new_runner(rollout_id)
        now = runner.clock()
        if not runner.claim(now):  # its first turn renews the lease
            held = self.store.rollout(rollout_id) or r
            raise RuntimeError(
                f"rollout {rollout_id} not run here: "
                + lease_text(held.lease_owner, held.lease_until, now)
            )
        run = ConsoleRun(runner)
        self.runs[rollout_id] = run
        return run

    def stop(self, rollout_id: str, timeout: float = STOP_WAIT_S) -> bool:
        """Stop one run and wait for it (blocking: call in a thread); True once it ended."""
        run = self.runs.get(rollout_id)
        if run is None:
            return True
        run.stop.set()
        return run.ended.wait(timeout)

    def signal_stop(self) -> None:
        """Tell every run to stop without waiting (safe on the event loop)."""
        for run in self.runs.values():
            run.stop.set()

    def stop_all(self, timeout: float = STOP_WAIT_S) -> bool:
        """Stop every run (all told at once, then waited for); True once all ended."""
        runs = [r for r in self.runs.values() if r.active]
        for run in runs:
            run.stop.set()
        deadline = time.monotonic() + timeout
        return all(run.ended.wait(max(0.0, deadline - time.monotonic())) for run in runs)
