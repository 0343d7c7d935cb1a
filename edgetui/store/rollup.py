"""Hourly rollup of old telemetry (the seed's low-power advice): many samples of one hour
become one message whose metrics are the averages, counted as such."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from edgetui.models.clock import rfc3339

AVERAGED = ("cpu_utilization", "memory_free_mb", "disk_free_gb", "inference_latency_ms")
LATEST = ("agent_status", "model_version")
MAX_LOGS = 20


@dataclass
class RollupPlan:
    """Rows `seqs` (one hour) are replaced by one message `payload` created at `created`."""

    seqs: list[int]
    created: float
    payload: dict[str, Any]


def average_telemetry(samples: list[dict[str, Any]], hour_start: float) -> dict[str, Any]:
    """One telemetry message for an hour: averages of numeric metrics (weighted by how many
    samples a previous rollup already stood for), the latest status/version, the highest
    uptime; null where no sample had a value (never invented)."""
    weights = [max(1, int((s.get("rollup") or {}).get("count", 1))) for s in samples]
    metrics: dict[str, Any] = {}
    for key in AVERAGED:
        pairs = [
            (s["metrics"][key], w)
            for s, w in zip(samples, weights, strict=True)
            if isinstance((s.get("metrics") or {}).get(key), int | float)
        ]
        total = sum(w for _, w in pairs)
        metrics[key] = round(sum(v * w for v, w in pairs) / total, 2) if total else None
    for key in LATEST:
        values = [(s.get("metrics") or {}).get(key) for s in samples]
        metrics[key] = next((v for v in reversed(values) if v is not None), None)
    ups = [
        (s.get("metrics") or {}).get("uptime_seconds")
        for s in samples
        if isinstance((s.get("metrics") or {}).get("uptime_seconds"), int | float)
    ]
    metrics["uptime_seconds"] = max(ups) if ups else None
    stamps = [
        t
        for s in samples
        for t in (
            (s.get("rollup") or {}).get("from"),
            (s.get("rollup") or {}).get("to"),
            s.get("timestamp"),
        )
        if isinstance(t, str)
    ]
    logs = [entry for s in samples for entry in (s.get("logs") or [])][-MAX_LOGS:]
    device = next((s.get("device_id") for s in samples if s.get("device_id")), None)
    return {
        "timestamp": rfc3339(hour_start, timespec="seconds"),
        "device_id": device,
        "metrics": metrics,
        "logs": logs,
        "rollup": {
            "count": sum(weights),
            "period_s": 3600,
            "from": min(stamps) if stamps else None,
            "to": max(stamps) if stamps else None,
        },
    }


def plan_rollups(rows: Iterable[tuple[int, float, str]]) -> list[RollupPlan]:
    """Group (seq, created, payload JSON) rows by UTC hour; each hour with two or more rows
    becomes one plan."""
    hours: dict[int, list[tuple[int, float, dict[str, Any]]]] = {}
    for seq, created, text in rows:
        try:
            payload = json.loads(text)
        except ValueError:
            continue
        if isinstance(payload, dict):
            hours.setdefault(int(created // 3600), []).append((seq, created, payload))
    plans = []
    for hour, group in sorted(hours.items()):
        if len(group) < 2:
            continue
        plans.append(
            RollupPlan(
                seqs=[g[0] for g in group],
                created=min(g[1] for g in group),  # TTL still counts from the oldest sample
                payload=average_telemetry([g[2] for g in group], hour * 3600.0),
            )
        )
    return plans
