"""What on-device validation measures: a model version's baseline and a validation report."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ValidationPhase(enum.StrEnum):
    """When a validation run ran: by hand, or on either side of an update."""

    MANUAL = "manual"  # `edgetui validate`
    BEFORE = "before"  # the running slot, before an update
    AFTER = "after"  # the trial slot, in its health check


@dataclass
class Baseline:
    """One model version's performance, measured over a window after its slot committed.

    Latencies in ms over the window's requests; cpu_percent is this process's CPU over the
    window (percent of one core), rss_mb its resident memory at the window's end."""

    version: str
    p50_ms: float | None
    p95_ms: float | None
    ttft_ms: float | None
    tokens_per_s: float | None
    cpu_percent: float | None
    rss_mb: float | None
    samples: int
    window_s: float
    recorded_at: str


@dataclass
class ValidationCheck:
    """One check of a validation run: ok True/False, or None when skipped (detail says why)."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class GoldenScore:
    """Golden accuracy: cases the model got right, of how many, and the bar ("28/30")."""

    passed: int
    total: int
    bar: str | None  # None when no golden prompts ran


@dataclass
class LatencyScore:
    """The run's p95 against the model version's baseline p95 (ratio None without one)."""

    p95_ms: float | None
    baseline_p95_ms: float | None
    ratio: float | None


@dataclass
class ValidationReport:
    """A run of the on-device regression suite (`edgetui validate`, or an OTA before/after).

    `phase` is "manual" (validate), "before" (the running slot, before an update) or
    "after" (the trial slot, in its health check)."""

    ok: bool
    at: str
    phase: ValidationPhase
    version: str | None
    golden: GoldenScore
    golden_ok: bool | None
    latency: LatencyScore
    checks: list[ValidationCheck] = field(default_factory=list)
    confidence_mean: float | None = None
    duration_ms: float | None = None
