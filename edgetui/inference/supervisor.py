"""Keeps the model worker process alive, as systemd's `Restart=on-failure` would.

A worker that dies is started again after `restart_backoff_s`, doubled after each crash that
came before any answer, up to `restart_backoff_max_s`. After `max_crashes` crashes within
`crash_window_s` the supervisor gives up: the engine stays on the rule policy until the
runtime restarts (an update, a rollback, the daemon itself), and says so. A worker that
refuses the model with an error of its own (`WorkerLoadError`) is not restarted: the same
file would be refused again.

Every figure the panel, `status --json` and `/metrics` show comes from here: the pid, the
state, restarts, crashes, the last exit, the time from the last crash to the first model
answer after it (`recovery_ms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

from edgetui.cancel import cancel_and_wait
from edgetui.config import InferenceConfig
from edgetui.inference.load_params import load_params
from edgetui.inference.process import (
    ProcessWorker,
    ProcJob,
    WorkerCrashed,
    WorkerExit,
    WorkerLoadError,
)
from edgetui.models.inference_section import WorkerExitRecord, WorkerSection, WorkerState

log = logging.getLogger(__name__)

# States of the worker, as `inference.worker.state` reports them.
STARTING, RUNNING, RESTARTING, FAILED, STOPPED = (
    WorkerState.STARTING,
    WorkerState.RUNNING,
    WorkerState.RESTARTING,
    WorkerState.FAILED,
    WorkerState.STOPPED,
)


class WorkerSupervisor:
    """One model file served by a worker process that is restarted when it dies."""

    def __init__(self, config: InferenceConfig, path: Path) -> None:
        self.config = config
        self.path = Path(path)
        self.state = STOPPED
        self.reason: str | None = "not started"
        self.worker: ProcessWorker | None = None
        self.restarts = 0
        self.crashes = 0  # a counter: every exit that was not asked for
        self.last_exit: WorkerExit | None = None
        self.recovery_ms: float | None = None
        self.load_ms: float | None = None
        self.next_restart_at: float | None = None  # monotonic
        self._recent: deque[float] = deque()  # crash times within the window
        self._streak = 0  # crashes since the last answer: the backoff's exponent
        self._crashed_at: float | None = None  # the last crash, until a model answer follows
        self._restart_task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.state == RUNNING and self.worker is not None and self.worker.alive

    @property
    def pending(self) -> int:
        return self.worker.pending if self.worker is not None else 0

    @property
    def prompt_format(self) -> str | None:
        return self.worker.prompt_format if self.worker is not None else None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Start the first worker. Raises WorkerLoadError when the model is refused; a
        crash on load is not raised: the worker is restarted with backoff."""
        await self._spawn()

    async def stop(self) -> None:
        self.state, self.reason = STOPPED, "stopped"
        await cancel_and_wait(self._restart_task)
        self._restart_task = None
        worker, self.worker = self.worker, None
        if worker is not None:
            await worker.stop()

    async def _spawn(self) -> None:
        cfg = self.config
        self.state = STARTING
        worker = ProcessWorker(
            n_threads=cfg.n_threads,
            n_ctx=cfg.n_ctx,
            queue_size=cfg.queue_size,
            timeout_s=lambda: cfg.timeout_s,  # read when used: a drill or a test may change it
            load_timeout_s=cfg.load_timeout_s,
            max_rss_mb=cfg.max_rss_mb,
            model_params=load_params(cfg),
            on_exit=self._on_exit,
        )
        self.worker = worker
        try:
            await worker.start(self.path)
        except WorkerLoadError as exc:
            await worker.stop()
            self.worker = None
            self.state, self.reason = FAILED, f"llama.cpp could not load {self.path.name}: {exc}"
            raise WorkerLoadError(self.reason) from None
        except WorkerCrashed:
            return  # _on_exit has counted it and scheduled the next try
        except OSError as exc:  # no process could be started (fork, exec, file limits)
            await worker.stop()
            self.worker = None
            self.state, self.reason = FAILED, f"cannot start the model worker: {exc}"
            raise WorkerLoadError(self.reason) from None
        self.load_ms = worker.load_ms
        self.state, self.reason = RUNNING, None
        log.info("inference worker %s serving %s", worker.pid, self.path.name)

    # -- crashes ----------------------------------------------------------------------
    def _on_exit(self, exit: WorkerExit) -> None:
        """The worker died without being asked to: count it, then restart or give up."""
        if self.state == STOPPED:
            return
        now = time.monotonic()
        self.crashes += 1
        self.last_exit = exit
        self._crashed_at = now
        self._streak += 1
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - self.config.crash_window_s:
            self._recent.popleft()
        cfg = self.config
        what = f"{self.path.name}: model worker crashed ({exit.cause}) {exit.when}"
        if len(self._recent) >= cfg.max_crashes:
            self.state = FAILED
            self.next_restart_at = None
            n = len(self._recent)
            self.reason = (
                f"{what}; {n} crash{'es' if n > 1 else ''} in {cfg.crash_window_s:g} s: "
                "giving up, the rules decide until the runtime restarts"
            )
            log.error("inference: %s", self.reason)
            return
        delay = min(cfg.restart_backoff_max_s, cfg.restart_backoff_s * 2 ** (self._streak - 1))
        self.state = RESTARTING
        self.next_restart_at = now + delay
        self.reason = f"{what}; restarting in {delay:g} s"
        self._restart_task = asyncio.get_running_loop().create_task(
            self._restart_after(delay), name="inference-worker-restart"
        )

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.next_restart_at = None
        old, self.worker = self.worker, None
        if old is not None:
            await old.stop()  # the process is gone; this only closes its pipes and tasks
        self.restarts += 1
        with contextlib.suppress(WorkerLoadError):  # FAILED, with the reason, is the state
            await self._spawn()

    def note_answer(self) -> None:
        """A model answer arrived: the crash streak is over, and recovery is measured."""
        self._streak = 0
        if self._crashed_at is not None:
            self.recovery_ms = round((time.monotonic() - self._crashed_at) * 1000.0, 1)
            self._crashed_at = None

    # -- requests ---------------------------------------------------------------------
    def submit(self, prompt: str, **kw: Any) -> ProcJob:
        """Send a request to the running worker; WorkerCrashed while there is none."""
        if not self.ready or self.worker is None:
            raise WorkerCrashed(self.reason or "model worker not running")
        return self.worker.submit(prompt, **kw)

    # -- reporting --------------------------------------------------------------------
    def _in_window(self) -> int:
        since = time.monotonic() - self.config.crash_window_s
        return sum(1 for t in self._recent if t > since)

    def section(self) -> WorkerSection:
        """`inference.worker`: what the panel, status --json and /metrics show."""
        w = self.worker
        nxt = self.next_restart_at
        last = self.last_exit
        return WorkerSection(
            state=self.state,
            pid=w.pid if w is not None else None,
            rss_mb=None if w is None or w.rss_bytes is None else round(w.rss_bytes / 2**20, 1),
            max_rss_mb=self.config.max_rss_mb or None,
            restarts=self.restarts,
            crashes=self.crashes,
            crashes_in_window=self._in_window(),
            max_crashes=self.config.max_crashes,
            crash_window_s=self.config.crash_window_s,
            next_restart_s=None if nxt is None else round(max(0.0, nxt - time.monotonic()), 1),
            last_exit=None if last is None else WorkerExitRecord(**last.to_dict()),
            recovery_ms=self.recovery_ms,
        )
