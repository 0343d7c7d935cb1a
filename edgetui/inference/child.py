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
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgetui.faults import fault_point
from edgetui.inference.worker import Job, ModelWorker, WorkerBusy, WorkerCancelled


async def _send(writer: asyncio.StreamWriter, msg: dict[str, Any]) -> None:
    writer.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
    await writer.drain()


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


async def _load(msg: dict[str, Any]) -> tuple[ModelWorker, float]:
    path = Path(msg["path"])
    worker = ModelWorker(
        n_threads=int(msg["n_threads"]),
        n_ctx=int(msg["n_ctx"]),
        # The parent bounds the queue; this one only has to hold what the parent lets through.
        queue_size=int(msg["queue_size"]) + 2,
        model_params=msg.get("model_params") or {},
    )
    started = time.perf_counter()
    await worker.start(path)
    fault_point("inference.worker.load", path.name)
    return worker, (time.perf_counter() - started) * 1000.0


async def serve(sock: socket.socket) -> int:
    """Answer the parent until it says stop or closes its end; the exit code."""
    reader, writer = await asyncio.open_connection(sock=sock)
    first = await reader.readline()
    if not first:
        return 0
    msg = json.loads(first)
    try:
        worker, load_ms = await _load(msg)
    except Exception as exc:  # a Python-level refusal: the parent shows it, no restart
        await _send(writer, {"op": "load_failed", "error": str(exc) or type(exc).__name__})
        return 0
    name = Path(msg["path"]).name
    await _send(writer, {"op": "loaded", "prompt_format": worker.prompt_format, "load_ms": load_ms})
    jobs: dict[int, Job] = {}

    async def answer(job_id: int, job: Job) -> None:
        try:
            done = await job.future
        except BaseException as exc:
            reply = _failure(job_id, exc)
        else:
            reply = {"op": "done", "id": job_id, "completion": asdict(done)}
        jobs.pop(job_id, None)
        await _send(writer, reply)

    pending: set[asyncio.Task[None]] = set()
    try:
        while True:
            line = await reader.readline()
            if not line:
                break  # the parent is gone: nobody waits for an answer
            msg = json.loads(line)
            op = msg.get("op")
            if op == "stop":
                break
            if op == "cancel":
                job = jobs.get(int(msg["id"]))
                if job is not None:
                    job.cancel()
                continue
            if op != "job":
                continue
            job_id = int(msg["id"])
            fault_point("inference.worker.decide", name)
            try:
                job = worker.submit(
                    msg["prompt"],
                    grammar=msg.get("grammar"),
                    max_tokens=int(msg["max_tokens"]),
                    temperature=float(msg["temperature"]),
                    score_actions=bool(msg.get("score_actions")),
                )
            except WorkerBusy as exc:
                await _send(writer, _failure(job_id, exc))
                continue
            job.enqueued = float(msg.get("enqueued", job.enqueued))
            jobs[job_id] = job
            task = asyncio.create_task(answer(job_id, job))
            pending.add(task)
            task.add_done_callback(pending.discard)
    finally:
        await worker.stop()
        for task in list(pending):
            task.cancel()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process."""
    parser = argparse.ArgumentParser(prog="edgetui.inference.child")
    parser.add_argument("--fd", type=int, required=True, help="the socketpair end to serve")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    try:
        return asyncio.run(serve(sock))
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the parent went away mid-answer


if __name__ == "__main__":
    sys.exit(main())
