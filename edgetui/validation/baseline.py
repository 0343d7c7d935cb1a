"""A model version's baseline, measured over a window of real requests after its slot
committed: p50, p95, TTFT and tokens/s of the requests, and this process's CPU and RSS.

The recorder is plain bookkeeping (the service feeds it completions and the clock); nothing
is estimated: a window that saw too few requests goes on until it has enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgetui.inference import percentile
from edgetui.models.decision import Completion
from edgetui.models.inference_section import BaselineRecording
from edgetui.models.validation import Baseline


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class ProcessUsage:
    """This process's CPU seconds (user + system) and resident memory at one moment."""

    cpu_s: float
    rss_mb: float


def process_usage() -> ProcessUsage:
    """Measure this process (blocking: a few /proc reads; call it in a thread)."""
    import psutil

    proc = psutil.Process()
    times = proc.cpu_times()
    return ProcessUsage(times.user + times.system, proc.memory_info().rss / (1024 * 1024))


@dataclass
class BaselineRecorder:
    """Collects one version's window. `ready()` says when it may be finished."""

    version: str
    started: float  # monotonic seconds
    usage: ProcessUsage
    window_s: float
    requests: int  # end after this many requests (0: by time only)
    min_samples: int
    total_ms: list[float] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)

    def observe(self, done: Completion) -> None:
        """Add one completed request."""
        self.total_ms.append(done.total_ms)
        if done.ttft_ms is not None:
            self.ttft_ms.append(done.ttft_ms)
        if done.tokens_per_s is not None:
            self.tokens_per_s.append(done.tokens_per_s)

    @property
    def samples(self) -> int:
        return len(self.total_ms)

    def ready(self, now: float) -> bool:
        """Enough requests, and the window is over (by time or by request count)."""
        if self.samples < self.min_samples:
            return False
        by_count = self.requests > 0 and self.samples >= self.requests
        return by_count or now - self.started >= self.window_s

    def progress(self, now: float) -> BaselineRecording:
        """What the `inference` section shows while the window runs."""
        return BaselineRecording(
            version=self.version,
            samples=self.samples,
            min_samples=self.min_samples,
            elapsed_s=round(now - self.started, 1),
            window_s=self.window_s,
        )

    def finish(self, now: float, usage: ProcessUsage, recorded_at: str) -> Baseline:
        """The baseline of the window that ends now."""
        elapsed = max(now - self.started, 1e-9)
        cpu = (usage.cpu_s - self.usage.cpu_s) / elapsed * 100.0
        tps = sum(self.tokens_per_s) / len(self.tokens_per_s) if self.tokens_per_s else None
        return Baseline(
            version=self.version,
            p50_ms=_r(percentile(self.total_ms, 50)),
            p95_ms=_r(percentile(self.total_ms, 95)),
            ttft_ms=_r(percentile(self.ttft_ms, 50)),
            tokens_per_s=_r(tps),
            cpu_percent=_r(max(cpu, 0.0)),
            rss_mb=_r(usage.rss_mb),
            samples=self.samples,
            window_s=round(elapsed, 1),
            recorded_at=recorded_at,
        )
