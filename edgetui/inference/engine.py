"""The inference engine: the llama.cpp model runs in a worker process (`child.py`), kept alive
by a supervisor (`supervisor.py`); the event loop never waits on it. Requests queue with a
bound and a timeout, and every request is measured. A worker that crashes costs the answers
in flight, which get the rule policy's decision ("model crashed (signal 11)"), never the
runtime.

The model comes from the active OTA slot (checked against the slot's recorded sha256), else
from `[inference] model_path` (checked against `model_sha256` when set). A model that is
missing, damaged or tampered with is refused: `available` is False, `unavailable_reason` says
why, and `decide()` answers with the rule-based fallback policy instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.config import InferenceConfig
from edgetui.inference.load_params import load_params
from edgetui.inference.model_file import ModelFileError, check_model
from edgetui.inference.process import WorkerCrashed, WorkerLoadError
from edgetui.inference.prompt import (
    DECISION_GRAMMAR,
    DECISION_TOKEN_BUDGET,
    DecisionParseError,
    build_prompt,
    parse_decision,
)
from edgetui.inference.stats import LatencyStats
from edgetui.inference.supervisor import WorkerSupervisor
from edgetui.inference.worker import ModelWorker, WorkerBusy, WorkerCancelled
from edgetui.models.clock import rfc3339
from edgetui.models.decision import Completion, Decision, fallback_decision
from edgetui.models.event import Event
from edgetui.models.inference_section import InferenceSection
from edgetui.models.serde import to_dict
from edgetui.models.slot import SlotContent

log = logging.getLogger(__name__)


class InferenceError(Exception):
    """A completion failed; str(e) is the one-line reason."""


class InferenceUnavailable(InferenceError):
    """No usable model is loaded."""


class InferenceTimeout(InferenceError):
    """The request took longer than `timeout_s` (queue wait included)."""


class InferenceBusy(InferenceError):
    """The request queue is full."""


class InferenceCrashed(InferenceError):
    """The worker process died with the request in flight; str(e): "model crashed (signal 11)"."""


@dataclass
class ModelChoice:
    """Which model to load and what its checksum must be."""

    path: Path | None
    sha256: str | None
    version: str | None
    origin: str  # "slot" | "config" | "none"
    problem: str | None = None


def choose_model(config: InferenceConfig, state_dir: Path) -> ModelChoice:
    """The active slot's model when it names one, else `[inference] model_path`."""
    current = Path(state_dir) / "slots" / "current"
    slot_problem = None
    if current.exists():
        try:
            slot = SlotContent.load(current)
        except ValueError as exc:
            slot_problem = str(exc)
        else:
            if slot.model is not None:
                if not slot.model_sha256:
                    return ModelChoice(
                        slot.model, None, slot.version, "slot", "slot record has no model_sha256"
                    )
                return ModelChoice(slot.model, slot.model_sha256, slot.version, "slot")
    if config.model_path:
        path = Path(config.model_path).expanduser()
        return ModelChoice(path, config.model_sha256 or None, None, "config")
    return ModelChoice(None, None, None, "none", slot_problem)


# A figure another part adds to the section (validation: baseline, p95_ratio): it reads
# the section so far and returns the fields it sets.
SectionExtra = Callable[[InferenceSection], dict[str, Any]]


def with_extras(section: InferenceSection, extras: list[SectionExtra]) -> InferenceSection:
    """`section` with each extra's fields set; a failing extra is logged and skipped."""
    for extra in extras:
        try:
            section = dataclasses.replace(section, **extra(section))
        except Exception:
            log.exception("inference: a section extra failed")
    return section


class InferenceEngine:
    """Service "inference": `complete()`, `decide()`, `section()`, method inference.status."""

    name = "inference"

    def __init__(
        self, config: InferenceConfig, state_dir: Path, *, isolation: str = "process"
    ) -> None:
        """`isolation`: "process" (the runtime's: llama.cpp in a supervised worker process)
        or "thread" (llama.cpp in a thread of this process: the benchmark's baseline only)."""
        if isolation not in ("process", "thread"):
            raise ValueError(f"isolation: expected 'process' or 'thread', got {isolation!r}")
        self.config = config
        self.state_dir = Path(state_dir)
        self.isolation = isolation
        self._refused: str | None = "not started"
        self.model_name: str | None = None
        self.model_path: Path | None = None
        self.version: str | None = None
        self.sha256: str | None = None
        self.origin = "none"
        self.load_ms: float | None = None
        self.stats = LatencyStats()
        self.last_decision: Decision | None = None
        self.last_prompt: str | None = None
        self._worker: ModelWorker | WorkerSupervisor | None = None
        self.drill_delay_s = 0.0  # set by inject_delay (fire drills only)
        # Handed in by the runtime: called with each completed request (baselines), and
        # adding keys to the section (baseline, p95_ratio). Other parts never reach in.
        self.listeners: list[Callable[[Completion], None]] = []
        self.extras: list[SectionExtra] = []

    @property
    def available(self) -> bool:
        """A model answers requests right now (False while its worker restarts)."""
        if self._refused is not None or self._worker is None:
            return False
        worker = self._worker
        return worker.ready if isinstance(worker, WorkerSupervisor) else True

    @property
    def unavailable_reason(self) -> str | None:
        """Why no model answers (None while one does)."""
        if self._refused is not None:
            return self._refused
        worker = self._worker
        if isinstance(worker, WorkerSupervisor) and not worker.ready:
            return worker.reason or "model worker not running"
        return None

    @property
    def current_load_ms(self) -> float | None:
        """How long the model now serving took to load (a restarted worker loads again)."""
        worker = self.supervisor
        return worker.load_ms if worker is not None else self.load_ms

    @property
    def supervisor(self) -> WorkerSupervisor | None:
        """The worker process's supervisor (None in thread isolation or without a model)."""
        return self._worker if isinstance(self._worker, WorkerSupervisor) else None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        choice = await asyncio.to_thread(
            choose_model, self.config, self.state_dir
        )  # reads slot.json
        self.version, self.origin, self.model_path = choice.version, choice.origin, choice.path
        if choice.problem is not None and choice.path is None:
            return self._refuse(choice.problem)
        if choice.problem is not None:
            return self._refuse(f"{choice.path}: {choice.problem}")
        try:
            checked = await asyncio.to_thread(check_model, choice.path, choice.sha256)
        except ModelFileError as exc:
            return self._refuse(str(exc))
        self.sha256, self.model_name = checked.sha256, checked.name
        started = time.perf_counter()
        if self.isolation == "process":
            supervisor = WorkerSupervisor(self.config, checked.path)
            self._worker, self._refused = supervisor, None
            try:
                await supervisor.start()
            except WorkerLoadError as exc:
                self._worker = None
                return self._refuse(str(exc))
            if not supervisor.ready:  # crashed on load: restarting, or given up
                log.error("inference: %s (rule-based fallback active)", supervisor.reason)
                return
            self.load_ms = supervisor.load_ms
        else:
            worker = ModelWorker(
                n_threads=self.config.n_threads,
                n_ctx=self.config.n_ctx,
                queue_size=self.config.queue_size,
                model_params=load_params(self.config),
            )
            try:
                await worker.start(checked.path)
            except Exception as exc:
                await worker.stop()
                return self._refuse(f"llama.cpp could not load {checked.path.name}: {exc}")
            self._worker, self._refused = worker, None
            self.load_ms = (time.perf_counter() - started) * 1000.0
        log.info(
            "inference: loaded %s (%s, sha256 %s…) in %.0f ms",
            checked.path,
            self.origin,
            checked.sha256[:12],
            self.load_ms or 0.0,
        )

    def _refuse(self, reason: str) -> None:
        self._refused = reason
        log.error("inference: model refused: %s (rule-based fallback active)", reason)

    async def stop(self) -> None:
        worker, self._worker = self._worker, None
        self._refused = "stopped"
        if worker is not None:
            await worker.stop()

    # -- requests ---------------------------------------------------------------------
    async def complete(
        self,
        prompt: str,
        *,
        grammar: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        score_actions: bool = False,
    ) -> Completion:
        """Run one completion on the worker; raises InferenceError (counted) on failure."""
        worker = self._worker
        if worker is None or not self.available:
            raise InferenceUnavailable(self.unavailable_reason or "no model loaded")
        self.stats.requests += 1
        try:
            job = worker.submit(
                prompt,
                grammar=grammar,
                max_tokens=max_tokens or self.config.max_tokens,
                temperature=self.config.temperature if temperature is None else temperature,
                score_actions=score_actions,
            )
        except WorkerCrashed as exc:  # died between the check above and now
            self.stats.errors += 1
            raise InferenceUnavailable(str(exc)) from None
        except WorkerBusy:
            self.stats.errors += 1
            raise InferenceBusy(
                f"inference queue full ({self.config.queue_size} waiting)"
            ) from None
        try:
            result = await asyncio.wait_for(asyncio.shield(job.future), self.config.timeout_s)
        except asyncio.CancelledError:
            # The caller went away (a task cancelled at a stop): the worker's answer, or its
            # WorkerCancelled, would be left on a future nobody reads ("Future exception was
            # never retrieved", logged whenever the garbage collector gets to it).
            job.cancel()
            job.future.cancel()
            raise
        except TimeoutError:
            job.cancel()  # the worker stops at the next token (or skips it if not started)
            job.future.cancel()  # nobody awaits it any more
            self.stats.timeouts += 1
            raise InferenceTimeout(
                f"inference took longer than timeout_s={self.config.timeout_s:g}s"
            ) from None
        except WorkerCancelled as exc:
            self.stats.errors += 1
            raise InferenceError(str(exc)) from None
        except WorkerCrashed as exc:
            self.stats.errors += 1
            raise InferenceCrashed(str(exc)) from None
        except Exception as exc:
            self.stats.errors += 1
            raise InferenceError(f"llama.cpp failed: {exc}") from exc
        if self.drill_delay_s > 0:
            # A simulated slow model: the caller really waits, and the wait is measured.
            await asyncio.sleep(self.drill_delay_s)
            result.total_ms += self.drill_delay_s * 1000.0
        self.stats.add(result)
        if isinstance(worker, WorkerSupervisor):
            worker.note_answer()
        for listener in self.listeners:
            try:
                listener(result)
            except Exception:
                log.exception("inference: a completion listener failed")
        return result

    def inject_delay(self, seconds: float) -> None:
        """Fire-drill hook (`edgetui drill slow-model`): every request takes `seconds`
        longer (0 = off). Nothing else uses it."""
        self.drill_delay_s = max(0.0, float(seconds))

    async def decide(self, event: Event, context: dict[str, Any]) -> Decision:
        """A grammar-constrained decision about `event`; the fallback policy when the model
        is unavailable or the request fails (the decision's reason says which)."""
        data = event.data if isinstance(event.data, dict) else {}
        started = time.perf_counter()
        if not self.available:
            decision = fallback_decision(
                event.type, data, context, f"model unavailable: {self.unavailable_reason}"
            )
        else:
            prompt = build_prompt(event.type, data, context)
            self.last_prompt = prompt
            try:
                done = await self.complete(
                    prompt,
                    grammar=DECISION_GRAMMAR,
                    max_tokens=max(self.config.max_tokens, DECISION_TOKEN_BUDGET),
                    score_actions=True,
                )
                action, message = parse_decision(done.text)
            except DecisionParseError as exc:
                self.stats.errors += 1
                decision = fallback_decision(event.type, data, context, f"bad model output: {exc}")
            except InferenceCrashed as exc:  # "model crashed (signal 11)": says it all
                decision = fallback_decision(event.type, data, context, str(exc))
            except InferenceError as exc:
                decision = fallback_decision(event.type, data, context, f"inference failed: {exc}")
            else:
                confidence = (done.action_probs or {}).get(action)
                floor = self.config.min_confidence
                if confidence is not None and confidence < floor:
                    # An unsure model: the rule policy decides, and says why.
                    decision = fallback_decision(
                        event.type,
                        data,
                        context,
                        f"model confidence {confidence:.2f} < {floor:.2f} (it chose {action})",
                    )
                    decision.confidence = confidence  # measured: the reason it fell back
                else:
                    decision = Decision(
                        action=action,
                        message=message,
                        reason=f"{self.model_name} chose it under the decision grammar "
                        f"({done.completion_tokens} tokens, {done.total_ms:.0f} ms)",
                        source="model",
                        raw=done.text,
                        confidence=confidence,
                    )
        decision.event_type = event.type
        decision.event_id = event.id
        location = data.get("location")
        decision.location = location if isinstance(location, str) else None
        decision.latency_ms = round((time.perf_counter() - started) * 1000.0, 2)
        decision.at = rfc3339()
        self.last_decision = dataclasses.replace(decision)  # a copy: the caller may change its own
        return decision

    # -- reporting --------------------------------------------------------------------
    def section(self) -> InferenceSection:
        """The `inference` section of the snapshot."""
        worker = self._worker
        load_ms = self.current_load_ms
        out = InferenceSection(
            available=self.available,
            reason=self.unavailable_reason,
            model=self.model_name,
            model_path=str(self.model_path) if self.model_path else None,
            origin=self.origin,
            version=self.version,
            sha256=self.sha256,
            load_ms=None if load_ms is None else round(load_ms, 1),
            queue_size=self.config.queue_size,
            queued=worker.pending if worker is not None else 0,
            # "chat_template" when the model's GGUF carries one, else "plain"; None: no model.
            prompt_format=worker.prompt_format if worker is not None else None,
            last_decision=self.last_decision,
            isolation=self.isolation,
            # The worker process (pid, state, restarts, last exit): None without one.
            worker=self.supervisor.section() if self.supervisor is not None else None,
            **self.stats.summary(),
        )
        return with_extras(out, self.extras)

    def methods(self) -> dict[str, Any]:
        async def status(_: dict[str, Any]) -> dict[str, Any]:
            return to_dict(self.section())

        return {"inference.status": status}
