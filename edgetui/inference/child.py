"""The model worker process: `python -m edgetui.inference.child --fd N`.

The only process that loads llama.cpp for the runtime. A crash in native code (a bad model, a
llama.cpp bug on an untested CPU, the OOM killer) ends this process and costs the answers in
flight; the daemon, its socket, the drain, OTA and the alerts live on (`process.py` is the
other end). Inside, the usual `ModelWorker` thread owns the model; this module only moves
requests and answers across the socket.

The protocol is one JSON object per line on a Unix socketpair (fd N), so nothing llama.cpp
prints on stdout or stderr can corrupt it:
- in: `load` (first, once), `job`, `cancel`, `stop`;
- out: `loaded` or `load_failed`, then `done` or `failed` per job.
A job's `enqueued` is the parent's `time.perf_counter()`: on Linux both processes read the
same CLOCK_MONOTONIC, so queue time and time to first token include the trip here.

No event loop runs here once the model is loaded: the main thread reads requests and queues
them, and the worker thread writes each answer itself the moment it has it. Every thread hop
costs a wake-up; measured on the 2-core test VM, the asyncio version's socket round trip
took 1.3 ms of a 15 ms decision.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgetui.faults import fault_point
from edgetui.inference.worker import CancellableJob, ModelWorker, WorkerBusy, WorkerCancelled
from edgetui.models.decision import Completion


class Channel:
    """The socket, written by whichever thread has an answer (one line at a time)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._lock = threading.Lock()

    def send(self, msg: dict[str, Any]) -> None:
        data = json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        with self._lock, contextlib.suppress(OSError):  # the parent went away: nobody reads
            self.sock.sendall(data)


def _failure(job_id: int, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, WorkerCancelled):
        kind = "cancelled"
    elif isinstance(exc, ValueError):
        kind = "value"  # the prompt does not fit n_ctx
    elif isinstance(exc, WorkerBusy):
        kind = "busy"
    else:
        kind = "error"
    return {"op": "failed", "id": job_id, "kind": kind, "message": str(exc) or type(exc).__name__}


class ChildJob(CancellableJob):
    """A request from the parent; the worker thread resolves it by answering on the socket."""

    def __init__(self, msg: dict[str, Any], channel: Channel, jobs: dict[int, ChildJob]) -> None:
        self.id = int(msg["id"])
        self.prompt = str(msg["prompt"])
        self.grammar = msg.get("grammar")
        self.max_tokens = int(msg["max_tokens"])
        self.temperature = float(msg["temperature"])
        self.score_actions = bool(msg.get("score_actions"))
        self.enqueued = float(msg.get("enqueued") or time.perf_counter())
        super().__init__()
        self._channel, self._jobs = channel, jobs

    def resolve(self, result: Completion | None, error: BaseException | None) -> None:
        self._jobs.pop(self.id, None)
        if error is not None or result is None:
            self._channel.send(_failure(self.id, error or RuntimeError("no result")))
        else:
            self._channel.send({"op": "done", "id": self.id, "completion": asdict(result)})


def _load(msg: dict[str, Any]) -> tuple[ModelWorker, float]:
    path = Path(msg["path"])
    worker = ModelWorker(
        n_threads=int(msg["n_threads"]),
        n_ctx=int(msg["n_ctx"]),
        # The parent bounds the queue; this one only has to hold what the parent lets through.
        queue_size=int(msg["queue_size"]) + 2,
        model_params=msg.get("model_params") or {},
    )
    started = time.perf_counter()
    asyncio.run(worker.start(path))  # the thread loads the model; no loop is needed after
    fault_point("inference.worker.load", path.name)
    return worker, (time.perf_counter() - started) * 1000.0


def serve(sock: socket.socket) -> int:
    """Answer the parent until it says stop or closes its end; the exit code."""
    channel = Channel(sock)
    lines = sock.makefile("rb")
    first = lines.readline()
    if not first:
        return 0
    msg = json.loads(first)
    try:
        worker, load_ms = _load(msg)
    except Exception as exc:  # a Python-level refusal: the parent shows it, no restart
        channel.send({"op": "load_failed", "error": str(exc) or type(exc).__name__})
        return 0
    name = Path(msg["path"]).name
    channel.send({"op": "loaded", "prompt_format": worker.prompt_format, "load_ms": load_ms})
    jobs: dict[int, ChildJob] = {}
    try:
        for line in lines:  # ends when the parent closes its end: nobody waits any more
            msg = json.loads(line)
            op = msg.get("op")
            if op == "stop":
                break
            if op == "cancel":
                job = jobs.get(int(msg["id"]))
                if job is not None:
                    job.cancel()
            elif op == "job":
                fault_point("inference.worker.decide", name)
                job = ChildJob(msg, channel, jobs)
                jobs[job.id] = job
                try:
                    worker.put(job)  # type: ignore[arg-type]
                except WorkerBusy as exc:
                    jobs.pop(job.id, None)
                    channel.send(_failure(job.id, exc))
    finally:
        asyncio.run(worker.stop())  # what is queued is answered "cancelled"
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process."""
    parser = argparse.ArgumentParser(prog="edgetui.inference.child")
    parser.add_argument("--fd", type=int, required=True, help="the socketpair end to serve")
    args = parser.parse_args(argv)
    return serve(socket.socket(fileno=args.fd))


if __name__ == "__main__":
    sys.exit(main())
