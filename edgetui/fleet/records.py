"""The fleet store's records: what the console, `fleet devices --json` and the bench read.

Times are epoch seconds (float) inside the fleet; the JSON forms carry them as RFC 3339 UTC
strings via `iso()`. A value a device did not send is None, never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgetui.models import to_dict
from edgetui.models.clock import rfc3339


def iso(ts: float | None) -> str | None:
    """RFC 3339 UTC with milliseconds, like the device snapshot's `time`."""
    return None if ts is None else rfc3339(ts)


def json_with_times(record: Any, *times: str) -> dict[str, Any]:
    """A record's JSON form (`to_dict`) with the epoch seconds `times` as RFC 3339."""
    d = to_dict(record)
    for key in times:
        d[key] = iso(d[key])
    return d


@dataclass
class DeviceState:
    """One device's last known state, merged from its status, telemetry and alerts."""

    device_id: str
    device_type: str | None = None
    status: str | None = None  # "online" | "offline" (retained status / last will)
    status_at: float | None = None
    version: str | None = None  # edgetui on the device
    release: str | None = None  # what the booted slot runs (the seed's `model_version`)
    slot: str | None = None  # booted slot name
    slot_status: str | None = None  # committed | trial | ...
    cpu_percent: float | None = None
    memory_free_mb: float | None = None
    memory_total_mb: float | None = None
    inference_p50_ms: float | None = None
    inference_p95_ms: float | None = None
    buffer_queued: int | None = None
    agent_status: str | None = None
    alerts_critical: int = 0
    alerts_warning: int = 0
    last_seen: float | None = None  # any message from the device
    last_telemetry: float | None = None  # the device's timestamp of its last telemetry
    ingested_by: str | None = None  # which fleet process wrote the last telemetry
    updated_at: float | None = None  # when the store last changed this row

    @property
    def memory_percent(self) -> float | None:
        """Memory in use, % of total (None unless the device sent both figures)."""
        if self.memory_free_mb is None or not self.memory_total_mb:
            return None
        return round(100.0 * (1 - self.memory_free_mb / self.memory_total_mb), 1)

    def to_json(self) -> dict[str, Any]:
        """The `fleet devices --json` form of one device."""
        d = json_with_times(self, "status_at", "last_seen", "last_telemetry", "updated_at")
        d["memory_percent"] = self.memory_percent
        d["alerts"] = {"critical": d.pop("alerts_critical"), "warning": d.pop("alerts_warning")}
        return d


@dataclass
class AlertRecord:
    """One alert instance of one device, as its last transition left it."""

    device_id: str
    key: str  # the alert name plus its instance labels
    name: str
    state: str  # pending | firing | resolved
    severity: str | None = None
    value: float | None = None
    summary: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    since: float | None = None
    at: float | None = None  # the transition's time on the device

    def to_json(self) -> dict[str, Any]:
        return json_with_times(self, "since", "at")


@dataclass
class TelemetryPoint:
    """A telemetry sample (tier 0) or the average of `n` samples in a bucket (tiers 1, 2)."""

    ts: float
    tier: int = 0
    n: int = 1
    cpu_percent: float | None = None
    memory_free_mb: float | None = None
    inference_p50_ms: float | None = None
    inference_p95_ms: float | None = None
    buffer_queued: float | None = None


@dataclass
class CommandRecord:
    """A command sent to one device and the last result it reported.

    A rollout writes one (with `rollout_id`, state RECORDED) before it publishes the command
    and marks it SENT once the broker acknowledged it; the ingest updates it from the
    `commands/result` messages devices publish."""

    command_id: str
    device_id: str
    command: str | None = None
    state: str | None = None  # RECORDED | SENT, then the device's QUEUED ... TIMED_OUT
    detail: str | None = None
    rollout_id: str | None = None
    issued_at: float | None = None
    updated_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return json_with_times(self, "issued_at", "updated_at")


@dataclass
class RetrainSample:
    """One of a device's decision inputs sent for the retraining set (`devices/<id>/retrain`):
    what the llm agent decided about, in which context, and what the device decided."""

    device_id: str
    sample_id: str  # the device's id for it: a resend is the same row
    event_type: str
    data: dict[str, Any]  # the trigger event's fields
    context: dict[str, Any]  # hour, time_of_day, expected_visitors, recent_events, thresholds
    alert: str | None = None  # the alert whose firing sent it
    model_version: str | None = None
    at: float | None = None  # when the device decided
    action: str | None = None  # the device's decision (its model, or its rule fallback)
    message: str | None = None
    source: str | None = None  # model | fallback
    confidence: float | None = None
    received: float | None = None  # when the fleet got it


@dataclass
class FleetSummary:
    """Counts over the whole fleet, the `fleet status --json` document."""

    engine: str
    devices: int = 0
    online: int = 0
    offline: int = 0
    unknown: int = 0  # heard from, but no status yet
    alerts: dict[str, int] = field(default_factory=lambda: {"critical": 0, "warning": 0})
    by_type: dict[str, int] = field(default_factory=dict)
    by_release: dict[str, int] = field(default_factory=dict)
    telemetry_rows: dict[str, int] = field(default_factory=dict)  # per tier: raw, 1m, 10m
    commands: dict[str, int] = field(default_factory=dict)  # by state
    last_seen: float | None = None

    def to_json(self) -> dict[str, Any]:
        return json_with_times(self, "last_seen")
