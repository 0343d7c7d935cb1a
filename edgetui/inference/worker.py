"""The one thread that owns the llama.cpp model (inside the worker process, `child.py`; the
benchmark also runs it in-process as the baseline). Jobs arrive through a queue; results go back
to the event loop with call_soon_threadsafe, so nothing on the loop ever blocks on llama.cpp.
A job can be cancelled: before it starts it is skipped, while it runs it stops at the next
token (that is why completions are streamed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Required, TypedDict

from edgetui.inference.confidence import ActionScorer, crosses_prefix
from edgetui.models.decision import Completion

log = logging.getLogger(__name__)
JOIN_TIMEOUT_S = 10.0


class WorkerBusy(Exception):
    """The job queue is full."""


class WorkerCancelled(Exception):
    """The job was cancelled (timed out or the engine stopped)."""


def settle(
    future: asyncio.Future[Completion], result: Completion | None, error: BaseException | None
) -> None:
    """Give a job's future its answer or its error (once: a cancelled one stays so)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


class JobOptions(TypedDict, total=False):
    """What a completion request carries beside its prompt (`submit(prompt, **options)`)."""

    grammar: str | None
    max_tokens: Required[int]
    temperature: Required[float]
    score_actions: bool


class CancellableJob:
    """A job the worker may be told to drop: skipped if queued, stopped at the next token."""

    def __init__(self) -> None:
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the worker to drop this job (skipped if queued, stopped at the next token)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


class Job(CancellableJob):
    """One completion request travelling to the worker thread and back."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        prompt: str,
        grammar: str | None,
        max_tokens: int,
        temperature: float,
        score_actions: bool = False,
    ) -> None:
        self.loop = loop
        self.score_actions = score_actions
        self.future: asyncio.Future[Completion] = loop.create_future()
        self.prompt = prompt
        self.grammar = grammar
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.enqueued = time.perf_counter()
        super().__init__()

    def resolve(self, result: Completion | None, error: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop already closed: nobody waits
            self.loop.call_soon_threadsafe(settle, self.future, result, error)


class ModelWorker:
    """Loads the model in its own thread and runs completions there, one at a time."""

    def __init__(
        self,
        *,
        n_threads: int,
        n_ctx: int,
        queue_size: int,
        model_params: dict[str, Any] | None = None,
    ) -> None:
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        # `llama_model_params` fields set at load (load_params.py: the weight repacking switch).
        self.model_params = dict(model_params or {})
        # Waiting jobs only: the running one has been taken off. The stop sentinel goes in
        # after the queue was emptied, so the bound never blocks it.
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max(1, queue_size))
        self._thread: threading.Thread | None = None
        self._llm: Any = None
        self._grammars: dict[str, Any] = {}
        self._scorer: ActionScorer | None = None
        # The model's chat template, when its GGUF carries one (None: the plain prompt).
        self._chat: Callable[[str], str] | None = None
        self.prompt_format = "plain"
        self._current: Job | None = None

    @property
    def pending(self) -> int:
        """Jobs waiting for the worker (the running one not included)."""
        return self._jobs.qsize()

    async def start(self, path: Path) -> None:
        """Start the thread and load the model in it; raises what llama.cpp raised."""
        loop = asyncio.get_running_loop()
        loaded: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(path, loop, loaded), name="inference-worker", daemon=True
        )
        self._thread.start()
        await loaded

    def submit(
        self,
        prompt: str,
        *,
        grammar: str | None,
        max_tokens: int,
        temperature: float,
        score_actions: bool = False,
    ) -> Job:
        """Queue a job; raises WorkerBusy when `queue_size` jobs are already waiting.
        `score_actions` (decision grammar only) measures the model's action probabilities."""
        job = Job(
            asyncio.get_running_loop(), prompt, grammar, max_tokens, temperature, score_actions
        )
        return self.put(job)

    def put(self, job: Job) -> Job:
        """Queue a job built by the caller: anything with a Job's fields, `cancelled` and
        `resolve` (the worker process's jobs answer over its socket, with no event loop).
        Raises WorkerBusy when `queue_size` jobs are already waiting."""
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise WorkerBusy() from None
        return job

    async def stop(self) -> None:
        """Cancel what is queued or running, end the thread, free the model."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.resolve(None, WorkerCancelled("inference engine stopped"))
        if self._current is not None:
            self._current.cancel()  # stops at its next token
        self._jobs.put(None)
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("inference worker did not stop within %ss", JOIN_TIMEOUT_S)

    # -- worker thread ----------------------------------------------------------------
    def _run(self, path: Path, loop: asyncio.AbstractEventLoop, loaded: asyncio.Future[None]):
        try:
            import llama_cpp

            from edgetui.inference.load_params import llama_params

            with llama_params(self.model_params):
                self._llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    verbose=False,  # llama.cpp's load chatter would pollute CLI output
                )
            # Once per model: the vocabulary's texts, to find the tokens that pick an action.
            self._scorer = ActionScorer(self._llm)
            from edgetui.inference.chat import chat_formatter

            self._chat = chat_formatter(self._llm)
            self.prompt_format = "plain" if self._chat is None else "chat_template"
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):  # the loop already closed: nobody waits
                loop.call_soon_threadsafe(_settle, loaded, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, loaded, None)
        try:
            self._serve()
        finally:
            llm, self._llm = self._llm, None
            if llm is not None:
                with contextlib.suppress(Exception):
                    llm.close()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.cancelled:
                job.resolve(None, WorkerCancelled("cancelled before it started"))
                continue
            self._current = job
            try:
                job.resolve(self._generate(job), None)
            except (WorkerCancelled, ValueError) as exc:  # ValueError: prompt too long
                job.resolve(None, exc)
            except BaseException as exc:
                log.exception("inference: completion failed")
                job.resolve(None, exc)
            finally:
                self._current = None

    def _grammar(self, text: str | None) -> Any:
        if text is None:
            return None
        grammar = self._grammars.get(text)
        if grammar is None:
            import llama_cpp

            grammar = llama_cpp.LlamaGrammar.from_string(text, verbose=False)
            self._grammars[text] = grammar
        return grammar

    def _generate(self, job: Job) -> Completion:
        llm = self._llm
        started = time.perf_counter()
        prompt = job.prompt if self._chat is None else self._chat(job.prompt)
        prompt_tokens = len(llm.tokenize(prompt.encode("utf-8")))
        if prompt_tokens + job.max_tokens > self.n_ctx:
            raise ValueError(
                f"prompt ({prompt_tokens} tokens) + max_tokens ({job.max_tokens}) exceed "
                f"n_ctx={self.n_ctx}"
            )
        first: float | None = None
        tokens = 0
        parts: list[str] = []
        finish = "length"
        # The actions' probabilities are read once, when the piece that crosses the grammar's
        # forced prefix arrives (it may be fused with the prefix: then it is the first piece).
        scorer = self._scorer if job.score_actions else None
        scoring = scorer is not None
        probs: dict[str, float] | None = None
        so_far = ""
        stream = llm.create_completion(
            prompt,
            grammar=self._grammar(job.grammar),
            max_tokens=job.max_tokens,
            temperature=job.temperature,
            stream=True,
        )
        try:
            for chunk in stream:
                if job.cancelled:
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                if choice["text"]:
                    if scoring and scorer is not None:
                        if crosses_prefix(so_far, choice["text"]):
                            probs = scorer.probs(llm, so_far)
                            scoring = False
                        so_far += choice["text"]
                    if first is None:
                        first = time.perf_counter()
                    tokens += 1  # one streamed piece per sampled token
                    parts.append(choice["text"])
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            stream.close()
        end = time.perf_counter()
        if finish == "cancelled":
            raise WorkerCancelled("cancelled while running (timeout)")
        rate = (tokens - 1) / (end - first) if first is not None and tokens > 1 else None
        return Completion(
            text="".join(parts),
            prompt_tokens=prompt_tokens,
            completion_tokens=tokens,
            queue_ms=(started - job.enqueued) * 1000.0,
            ttft_ms=None if first is None else (first - job.enqueued) * 1000.0,
            total_ms=(end - job.enqueued) * 1000.0,
            tokens_per_s=rate,
            finish_reason=finish,
            action_probs=probs,
        )


def _settle(fut: asyncio.Future[None], exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is None:
        fut.set_result(None)
    else:
        fut.set_exception(exc)
