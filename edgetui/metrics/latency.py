"""A cumulative latency histogram fed from the inference section: each snapshot, the
completions since the last one are taken from its `latency_history` (measured values)."""

from __future__ import annotations

from typing import Any

BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class LatencyHistogram:
    """Observed latencies in seconds, cumulative since the exporter started."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS_S) + 1)
        self.total = 0.0
        self.tokens = 0.0
        self._completed: int | None = None

    def observe_section(self, inf: dict[str, Any]) -> None:
        """Add the completions the section counted since the previous call."""
        completed = inf.get("completed")
        if not isinstance(completed, int):
            return
        if self._completed is None or completed < self._completed:
            self._completed = completed  # first sight, or the engine restarted
            return
        new = completed - self._completed
        self._completed = completed
        history = inf.get("latency_history") or []
        for ms in history[-new:] if new else []:
            self.observe(float(ms) / 1000.0)
        if new and isinstance(inf.get("last_completion_tokens"), int):
            # Tokens are reported for the last completion only: count it once.
            self.tokens += inf["last_completion_tokens"]

    def observe(self, seconds: float) -> None:
        for i, le in enumerate(BUCKETS_S):
            if seconds <= le:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += seconds

    def export(self) -> tuple[list[tuple[str, float]], float, int]:
        """Cumulative (le, count) buckets ending with +Inf, the sum and the count."""
        out, running = [], 0
        for le, n in zip((*(f"{b:g}" for b in BUCKETS_S), "+Inf"), self.counts, strict=True):
            running += n
            out.append((le, float(running)))
        return out, self.total, running
