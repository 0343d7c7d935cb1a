"""The `inference` section: the model the engine serves, its worker process, its latency."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

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

    returncode: int | None
    during: str  # "load" | "decide" | "idle"
    at: str  # RFC 3339
    killed_for: str | None = None
    stderr_tail: str | None = None
    cause: str = ""  # "signal 11", "exit 1" or why it was killed


@dataclass
class WorkerSection:
    """`inference.worker`: the supervised worker process (pid, state, restarts, exits)."""

    state: WorkerState
    pid: int | None
    rss_mb: float | None
    max_rss_mb: float | None
    restarts: int
    crashes: int
    crashes_in_window: int
    max_crashes: int
    crash_window_s: float
    next_restart_s: float | None
    last_exit: WorkerExitRecord | None
    recovery_ms: float | None


@dataclass
class BaselineRecording:
    """`inference.baseline_recording`: the baseline window now filling up."""

    version: str
    samples: int
    min_samples: int
    elapsed_s: float
    window_s: float


def _no_isolation(section: InferenceSection) -> bool:
    # A read-only model view (no engine) writes neither `isolation` nor `worker`; an
    # engine in thread isolation writes `"worker": null`.
    return section.isolation is None


@dataclass
class InferenceSection:
    """The `inference` section: what the engine (or the read-only model view) serves.

    `isolation` and `worker` are absent from a model view's section; `baseline`,
    `p95_ratio` and `baseline_recording` are the validation part's figures."""

    available: bool
    reason: str | None
    model: str | None
    model_path: str | None
    origin: str
    version: str | None
    sha256: str | None
    load_ms: float | None
    queue_size: int
    queued: int
    prompt_format: str | None
    last_decision: Decision | None
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
    baseline: Baseline | None = None
    p95_ratio: float | None = None
    baseline_recording: BaselineRecording | None = None
