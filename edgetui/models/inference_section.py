"""The `inference` section: the model the engine serves, its worker process, its latency."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from edgetui.models.decision import Decision
from edgetui.models.serde import OMIT_NONE
from edgetui.models.validation import Baseline


class WorkerState(enum.StrEnum):
    """The model worker process, as `inference.worker.state` reports it."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class WorkerExitRecord:
    """How one worker process ended (`inference.worker.last_exit`)."""

    returncode: int | None = None
    during: str = ""  # "load" | "decide" | "idle"
    at: str = ""  # RFC 3339
    killed_for: str | None = None
    stderr_tail: str | None = None
    cause: str = ""  # "signal 11", "exit 1" or why it was killed


@dataclass
class WorkerSection:
    """`inference.worker`: the supervised worker process (pid, state, restarts, exits)."""

    state: WorkerState = WorkerState.STOPPED
    pid: int | None = None
    rss_mb: float | None = None
    max_rss_mb: int | None = None
    restarts: int = 0
    crashes: int = 0
    crashes_in_window: int = 0
    max_crashes: int = 0
    crash_window_s: float = 0.0
    next_restart_s: float | None = None
    last_exit: WorkerExitRecord | None = None
    recovery_ms: float | None = None


@dataclass
class BaselineRecording:
    """`inference.baseline_recording`: the baseline window now filling up."""

    version: str = ""
    samples: int = 0
    min_samples: int = 0
    elapsed_s: float = 0.0
    window_s: float = 0.0


class _Unmeasured:
    """The value of a validation figure in a runtime without the validation part."""

    def __repr__(self) -> str:
        return "UNMEASURED"


# The validation part adds `baseline`, `p95_ratio` and `baseline_recording`; without it
# the keys are absent (not null), as before the section was typed.
UNMEASURED: Any = _Unmeasured()


def _unmeasured(name: str) -> dict[str, Any]:
    return {"omit_if": lambda section: getattr(section, name) is UNMEASURED}


def _no_isolation(section: InferenceSection) -> bool:
    # A read-only model view (no engine) writes neither `isolation` nor `worker`; an
    # engine in thread isolation writes `"worker": null`.
    return section.isolation is None


@dataclass
class InferenceSection:
    """The `inference` section: what the engine (or the read-only model view) serves.

    `isolation` and `worker` are absent from a model view's section; `baseline`,
    `p95_ratio` and `baseline_recording` are the validation part's figures."""

    available: bool = False
    reason: str | None = None
    model: str | None = None
    model_path: str | None = None
    origin: str = "none"
    version: str | None = None
    sha256: str | None = None
    load_ms: float | None = None
    queue_size: int = 0
    queued: int = 0
    prompt_format: str | None = None
    last_decision: Decision | None = None
    isolation: str | None = field(default=None, metadata=OMIT_NONE)
    worker: WorkerSection | None = field(default=None, metadata={"omit_if": _no_isolation})
    requests: int = 0
    completed: int = 0
    errors: int = 0
    timeouts: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    ttft_ms: float | None = None
    queue_ms: float | None = None
    tokens_per_s: float | None = None
    last_prompt_tokens: int | None = None
    last_completion_tokens: int | None = None
    window: int = 0
    latency_history: list[float] = field(default_factory=list)
    baseline: Baseline | None = field(default=UNMEASURED, metadata=_unmeasured("baseline"))
    p95_ratio: float | None = field(default=UNMEASURED, metadata=_unmeasured("p95_ratio"))
    baseline_recording: BaselineRecording | None = field(
        default=UNMEASURED, metadata=_unmeasured("baseline_recording")
    )

    @property
    def measures_baseline(self) -> bool:
        """Whether the validation part reports its baseline figures here."""
        return self.baseline is not UNMEASURED
