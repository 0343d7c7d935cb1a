"""The runtime's end of one model worker process (`child.py`).

`ProcessWorker` spawns `python -m edgetui.inference.child`, hands it the model to load and
then requests, and reads the answers on the event loop. It watches the child: silence with
requests in flight past `timeout_s` and a grace (a hang inside llama.cpp), a load longer than
`load_timeout_s`, or a resident size over `max_rss_mb` is killed. When the process ends for
any reason other than `stop()`, every request in flight fails with `WorkerCrashed`
("model crashed (signal 11)") and `on_exit` is told how it ended; restarting is the
supervisor's job (`supervisor.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Unpack

from edgetui.cancel import cancel_and_wait
from edgetui.inference.worker import JobOptions, WorkerBusy, WorkerCancelled, settle
from edgetui.models.clock import rfc3339
from edgetui.models.decision import Completion

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 10.0
WATCH_INTERVAL_S = 0.25
STDERR_LINES = 20  # the child's last lines of stderr, kept to say why it died
# A request past timeout_s is cancelled and answered by the rules; the worker stops at its
# next token and says so. Silent for timeout_s and then as long again (at least this), it is
# stuck in native code: killed. (A long prompt is evaluated in one native call.)
HANG_GRACE_S = 5.0
MIB = 1024 * 1024


class WorkerCrashed(Exception):
    """The worker process died; str(e) says how ("model crashed (signal 11)")."""


class WorkerLoadError(Exception):
    """The worker refused the model with an error of its own (not a crash): no restart helps."""


@dataclass
class WorkerExit:
    """How one worker process ended."""

    returncode: int | None
    during: str  # "load" | "decide" | "idle"
    at: str  # RFC 3339
    killed_for: str | None = None  # set when the runtime killed it (hang, memory, slow load)
    stderr_tail: str | None = None  # its last line on stderr, if any

    @property
    def cause(self) -> str:
        """ "signal 11", "exit 1" or why it was killed."""
        if self.killed_for:
            return self.killed_for
        rc = self.returncode
        if rc is None:
            return "vanished"
        return f"signal {-rc}" if rc < 0 else f"exit {rc}"

    @property
    def when(self) -> str:
        return {"load": "on load", "decide": "while deciding"}.get(self.during, "while idle")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cause"] = self.cause
        return out


class ProcJob:
    """One request in flight to the worker process: `future` settles with its Completion."""

    def __init__(self, worker: ProcessWorker, job_id: int, enqueued: float) -> None:
        self._worker = worker
        self.id = job_id
        self.enqueued = enqueued
        self.future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()

    def cancel(self) -> None:
        """Ask the worker to drop this request (skipped if queued, stopped at the next token)."""
        self._worker._send_cancel(self.id)

    def settle(self, result: Completion | None, error: BaseException | None) -> None:
        settle(self.future, result, error)


def _error_of(kind: str, message: str) -> BaseException:
    if kind == "cancelled":
        return WorkerCancelled(message)
    if kind == "value":
        return ValueError(message)
    if kind == "busy":
        return WorkerBusy()
    return RuntimeError(message)


class ProcessWorker:
    """One llama.cpp worker process; the same `start`/`submit`/`stop` as `ModelWorker`."""

    def __init__(
        self,
        *,
        n_threads: int,
        n_ctx: int,
        queue_size: int,
        timeout_s: Callable[[], float],
        load_timeout_s: float,
        max_rss_mb: int = 0,
        model_params: dict[str, Any] | None = None,
        on_exit: Callable[[WorkerExit], None] | None = None,
    ) -> None:
        self.n_threads, self.n_ctx, self.queue_size = n_threads, n_ctx, max(1, queue_size)
        self.timeout_s, self.load_timeout_s, self.max_rss_mb = timeout_s, load_timeout_s, max_rss_mb
        self.model_params = dict(model_params or {})
        self.on_exit = on_exit
        self.prompt_format = "plain"
        self.load_ms: float | None = None
        self.rss_bytes: int | None = None
        self._ps: Any = None  # psutil.Process of the worker, made at spawn
        self.exit: WorkerExit | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._jobs: dict[int, ProcJob] = {}
        self._next_id = 0
        self._loaded: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._spawned = 0.0
        self._heard = 0.0  # the last message from the child (monotonic)
        self._busy_since = 0.0  # when the oldest request now in flight was sent
        self._killed_for: str | None = None
        self._stopping = False

    @property
    def hang_after_s(self) -> float:
        """Silence with requests in flight that counts as a hang."""
        timeout = self.timeout_s()
        return timeout + max(HANG_GRACE_S, timeout)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None or self.exit is not None else self._proc.pid

    @property
    def pending(self) -> int:
        """Requests waiting behind the running one."""
        return max(0, len(self._jobs) - 1)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self.exit is None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, path: Path) -> None:
        """Spawn the process and load `path` in it. Raises WorkerLoadError when llama.cpp
        refuses the file, WorkerCrashed when the process dies or is killed while loading."""
        loop = asyncio.get_running_loop()
        self._loaded = loop.create_future()
        ours, theirs = socket.socketpair()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "edgetui.inference.child", "--fd", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        import psutil

        with contextlib.suppress(psutil.Error):
            self._ps = psutil.Process(self._proc.pid)
        reader, self._writer = await asyncio.open_connection(sock=ours)
        self._spawned = self._heard = time.monotonic()
        self._stderr_task = asyncio.create_task(self._read_stderr(), name="inference-worker-stderr")
        self._tasks = [
            asyncio.create_task(self._read(reader), name="inference-worker-read"),
            self._stderr_task,
            asyncio.create_task(self._watch(), name="inference-worker-watch"),
            asyncio.create_task(self._wait_exit(), name="inference-worker-exit"),
        ]
        self._write(
            {
                "op": "load", "path": str(path), "n_threads": self.n_threads,
                "n_ctx": self.n_ctx, "queue_size": self.queue_size,
                "model_params": self.model_params,
            }
        )  # fmt: skip
        await asyncio.shield(self._loaded)

    async def stop(self) -> None:
        """Ask the process to end (killed after STOP_TIMEOUT_S); fail what is in flight."""
        self._stopping = True
        self._fail_all(WorkerCancelled("inference engine stopped"))
        if self._loaded is not None and not self._loaded.done():
            self._loaded.set_exception(WorkerCancelled("stopped while loading"))
        proc = self._proc
        if proc is not None and proc.returncode is None:
            self._write({"op": "stop"})
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("inference worker did not stop within %ss: killed", STOP_TIMEOUT_S)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # -- requests ---------------------------------------------------------------------
    def submit(self, prompt: str, **options: Unpack[JobOptions]) -> ProcJob:
        """Send one request (the options `ModelWorker.submit` takes); raises WorkerBusy when
        `queue_size` already wait."""
        if not self.alive or self._writer is None:
            raise WorkerCrashed("model worker not running")
        if self.pending >= self.queue_size and self._jobs:
            raise WorkerBusy()
        self._next_id += 1
        now = time.perf_counter()
        job = ProcJob(self, self._next_id, now)
        if not self._jobs:
            self._busy_since = time.monotonic()
        self._jobs[job.id] = job
        self._write({"op": "job", "id": job.id, "prompt": prompt, **options, "enqueued": now})
        return job

    def _send_cancel(self, job_id: int) -> None:
        if job_id in self._jobs:
            self._write({"op": "cancel", "id": job_id})

    def _write(self, msg: dict[str, Any]) -> None:
        # The socket buffer takes a request at once; an ended child is seen by _wait_exit.
        if self._writer is None or self._writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    # -- the child's side, read on the loop -------------------------------------------
    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (ConnectionError, ValueError):
                return
            if not line:
                return
            self._heard = time.monotonic()
            try:
                msg = json.loads(line)
            except ValueError:
                log.warning("inference worker sent a line that is not JSON: %r", line[:120])
                continue
            self._on_message(msg)

    def _on_message(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        loaded = self._loaded
        if op == "loaded" and loaded is not None and not loaded.done():
            # The cap is checked the moment the model is in memory, not at the next watch
            # tick: a model too big for it is refused "on load" every time, not by a race.
            if self._ps is not None and (why := self._rss_verdict(self._ps)) is not None:
                self._kill(why)
                return  # `_wait_exit` fails the load
            self.prompt_format = str(msg.get("prompt_format") or "plain")
            self.load_ms = float(msg.get("load_ms") or 0.0)
            loaded.set_result(None)
        elif op == "load_failed" and loaded is not None and not loaded.done():
            loaded.set_exception(WorkerLoadError(str(msg.get("error"))))
        elif op in ("done", "failed"):
            job = self._jobs.pop(int(msg.get("id", -1)), None)
            if job is None:
                return
            if self._jobs:
                self._busy_since = time.monotonic()
            if op == "failed":
                job.settle(None, _error_of(str(msg.get("kind")), str(msg.get("message"))))
                return
            done = Completion(**msg["completion"])
            # End to end: the trip back across the socket counts too.
            done.total_ms = (time.perf_counter() - job.enqueued) * 1000.0
            job.settle(done, None)

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for raw in self._proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self._stderr.append(line)
                log.debug("inference worker: %s", line)

    async def _watch(self) -> None:
        assert self._proc is not None
        ps = self._ps
        if ps is None:
            return  # gone before it could be watched: `_wait_exit` says so
        while self._proc.returncode is None:
            await asyncio.sleep(WATCH_INTERVAL_S)
            now = time.monotonic()
            loaded = self._loaded is not None and self._loaded.done()
            if (why := self._rss_verdict(ps)) is not None:
                self._kill(why)
            elif not loaded and now - self._spawned > self.load_timeout_s:
                self._kill(f"no load within load_timeout_s={self.load_timeout_s:g}, killed")
            elif self._jobs and now - max(self._heard, self._busy_since) > self.hang_after_s:
                self._kill(f"hung: no answer in {self.hang_after_s:g} s, killed")

    def _rss_verdict(self, ps: Any) -> str | None:
        """Read the worker's resident size (one read of /proc/<pid>/statm); the reason to
        kill it when that is over `max_rss_mb`, else None."""
        import psutil

        with contextlib.suppress(psutil.Error):
            self.rss_bytes = ps.memory_info().rss
        rss_mb = (self.rss_bytes or 0) / MIB
        if self.max_rss_mb and rss_mb > self.max_rss_mb:
            return f"memory {rss_mb:.0f} MB > max_rss_mb={self.max_rss_mb}, killed"
        return None

    def _kill(self, why: str) -> None:
        if self._proc is None or self._proc.returncode is not None or self._killed_for:
            return
        self._killed_for = why
        log.error("inference worker %s: %s", self._proc.pid, why)
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()

    async def _wait_exit(self) -> None:
        assert self._proc is not None
        rc = await self._proc.wait()
        loaded = self._loaded is not None and self._loaded.done()
        during = "load" if not loaded else ("decide" if self._jobs else "idle")
        # Let the last lines of stderr arrive (the pipe closes with the process).
        with contextlib.suppress(TimeoutError):
            if self._stderr_task is not None:
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 1.0)
        tail = self._stderr[-1] if self._stderr else None
        self.exit = WorkerExit(rc, during, rfc3339(), self._killed_for, tail)
        if self._stopping:
            return
        if self._loaded is not None and not self._loaded.done():
            self._loaded.set_exception(
                WorkerCrashed(f"model worker crashed ({self.exit.cause}) on load")
            )
        self._fail_all(WorkerCrashed(f"model crashed ({self.exit.cause})"))
        log.error(
            "inference worker %s ended (%s) %s%s",
            self._proc.pid, self.exit.cause, self.exit.when, f": {tail}" if tail else "",
        )  # fmt: skip
        if self.on_exit is not None:
            self.on_exit(self.exit)

    def _fail_all(self, error: BaseException) -> None:
        jobs, self._jobs = self._jobs, {}
        for job in jobs.values():
            job.settle(None, error)
