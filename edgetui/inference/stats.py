"""Latency bookkeeping for the inference engine: counters, a window for percentiles, and a
history for the sparkline. Only measured requests go in; nothing is estimated."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from edgetui.models.decision import Completion

WINDOW = 200  # requests the percentiles are computed over
HISTORY = 120  # latencies kept for the sparkline


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class LatencyStats:
    """Counters and recent figures of completed requests."""

    def __init__(self, window: int = WINDOW, history: int = HISTORY) -> None:
        self.requests = 0
        self.errors = 0
        self.timeouts = 0
        self.completed = 0
        self._total: deque[float] = deque(maxlen=window)
        self._ttft: deque[float] = deque(maxlen=window)
        self._queue: deque[float] = deque(maxlen=window)
        self._tps: deque[float] = deque(maxlen=window)
        self.history: deque[float] = deque(maxlen=history)
        self.last: Completion | None = None

    def add(self, done: Completion) -> None:
        """Record one completed request."""
        self.completed += 1
        self.last = done
        self._total.append(done.total_ms)
        self._queue.append(done.queue_ms)
        self.history.append(round(done.total_ms, 2))
        if done.ttft_ms is not None:
            self._ttft.append(done.ttft_ms)
        if done.tokens_per_s is not None:
            self._tps.append(done.tokens_per_s)

    def summary(self) -> dict[str, Any]:
        """Figures for the `inference` section (None until a request completed)."""
        tps = sum(self._tps) / len(self._tps) if self._tps else None
        last = self.last
        return {
            "requests": self.requests,
            "completed": self.completed,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "p50_ms": _r(percentile(self._total, 50)),
            "p95_ms": _r(percentile(self._total, 95)),
            "p99_ms": _r(percentile(self._total, 99)),
            "ttft_ms": _r(percentile(self._ttft, 50)),
            "queue_ms": _r(percentile(self._queue, 50)),
            "tokens_per_s": _r(tps),
            "last_prompt_tokens": last.prompt_tokens if last else None,
            "last_completion_tokens": last.completion_tokens if last else None,
            "window": len(self._total),
            "latency_history": list(self.history),
        }
