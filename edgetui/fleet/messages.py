"""What devices publish, parsed: one update per MQTT message, or a MessageError in one line.

Topics (see README "Store-and-forward buffer and MQTT uplink"):
- `devices/<id>/status`: `online` (retained) or `offline` (the last will, also retained);
- `devices/<id>/telemetry`: the seed's message (`timestamp`, `device_id`, `metrics`, `logs`)
  plus the `device` block (type, version, booted slot, p95, backlog);
- `devices/<id>/alerts`: an alert transition (`alertname`, `state`, `severity`, ...);
- `devices/<id>/commands/result`: a command's progress or result (`command_id`, `state`);
- `devices/<id>/audit`: an audit record, kept as it came;
- `devices/<id>/retrain`: the llm agent's inputs behind a firing drift or confidence alert
  (opt-in on the device, `[retrain]`): `alert`, `samples` (see `_retrain`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from edgetui.fleet.records import AlertRecord, CommandRecord, RetrainSample
from edgetui.models.clock import parse_epoch
from edgetui.models.vocabulary import REPORTED, DeviceStatus, Topic, split_device_topic

SUFFIXES = (
    Topic.STATUS,
    Topic.TELEMETRY,
    Topic.ALERTS,
    Topic.COMMAND_RESULT,
    Topic.AUDIT,
    Topic.RETRAIN,
)
ALERT_STATES = ("pending", "firing", "resolved", "inactive")
MAX_BYTES = 256 * 1024  # a device message is a few hundred bytes; more is not one of ours


class MessageError(ValueError):
    """A message the fleet cannot use; the text is one line naming the topic and why."""


@dataclass
class StatusUpdate:
    device_id: str
    status: str  # online | offline
    at: float  # when this fleet process received it (the status carries no time)


@dataclass
class TelemetryUpdate:
    device_id: str
    ts: float  # the device's timestamp (the receive time when it sent none)
    received: float
    cpu_percent: float | None = None
    memory_free_mb: float | None = None
    memory_total_mb: float | None = None
    inference_p50_ms: float | None = None
    inference_p95_ms: float | None = None
    buffer_queued: int | None = None
    agent_status: str | None = None
    release: str | None = None
    device_type: str | None = None
    version: str | None = None
    slot: str | None = None
    slot_status: str | None = None


@dataclass
class AlertUpdate:
    record: AlertRecord
    received: float


@dataclass
class CommandUpdate:
    record: CommandRecord
    received: float


@dataclass
class AuditUpdate:
    device_id: str
    received: float
    body: str


@dataclass
class RetrainUpdate:
    device_id: str
    received: float
    samples: list[RetrainSample]


Update = StatusUpdate | TelemetryUpdate | AlertUpdate | CommandUpdate | AuditUpdate | RetrainUpdate


def split_topic(topic: str) -> tuple[str, str]:
    """(device id, suffix) of `devices/<id>/<suffix>`; MessageError for any other topic."""
    split = split_device_topic(topic)
    if split is None or split[1] not in SUFFIXES:
        raise MessageError(f"{topic}: not a device topic the fleet reads")
    return split


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(topic: str, payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"{topic}: not JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise MessageError(f"{topic}: expected a JSON object, got {type(data).__name__}")
    return data


def parse(topic: str, payload: bytes, received: float) -> Update:
    """One device message as an update; raises MessageError (one line) when unusable."""
    device_id, suffix = split_topic(topic)
    if len(payload) > MAX_BYTES:
        raise MessageError(f"{topic}: {len(payload)} bytes, more than {MAX_BYTES}")
    if suffix == Topic.STATUS:
        text = payload.decode(errors="replace").strip()
        if text not in tuple(DeviceStatus):
            raise MessageError(f"{topic}: status {text[:40]!r} is neither online nor offline")
        return StatusUpdate(device_id, text, received)
    if suffix == Topic.AUDIT:
        _object(topic, payload)  # kept as it came, but it must be a JSON object
        return AuditUpdate(device_id, received, payload.decode())
    data = _object(topic, payload)
    if suffix == Topic.TELEMETRY:
        return _telemetry(topic, device_id, data, received)
    if suffix == Topic.ALERTS:
        return _alert(topic, device_id, data, received)
    if suffix == Topic.RETRAIN:
        return _retrain(topic, device_id, data, received)
    return _command(topic, device_id, data, received)


def _telemetry(topic: str, device_id: str, data: dict[str, Any], received: float) -> Update:
    metrics = data.get("metrics")
    if not isinstance(metrics, dict):
        raise MessageError(f"{topic}: telemetry without a `metrics` object")
    dev = data.get("device") if isinstance(data.get("device"), dict) else {}
    queued = _num(dev.get("buffer_queued"))
    return TelemetryUpdate(
        device_id=device_id,
        ts=parse_epoch(data.get("timestamp")) or received,
        received=received,
        cpu_percent=_num(metrics.get("cpu_utilization")),
        memory_free_mb=_num(metrics.get("memory_free_mb")),
        memory_total_mb=_num(dev.get("memory_total_mb")),
        inference_p50_ms=_num(metrics.get("inference_latency_ms")),
        inference_p95_ms=_num(dev.get("inference_p95_ms")),
        buffer_queued=None if queued is None else int(queued),
        agent_status=_str(metrics.get("agent_status")),
        release=_str(metrics.get("model_version")),
        device_type=_str(dev.get("type")),
        version=_str(dev.get("version")),
        slot=_str(dev.get("slot")),
        slot_status=_str(dev.get("slot_status")),
    )


def _alert(topic: str, device_id: str, data: dict[str, Any], received: float) -> Update:
    name = _str(data.get("alertname"))
    state = data.get("state")
    if name is None:
        raise MessageError(f"{topic}: alert without `alertname`")
    if state not in ALERT_STATES:
        raise MessageError(f"{topic}: alert {name}: unknown state {state!r}")
    labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
    key = name
    if labels:
        key += "{" + ",".join(f"{k}={labels[k]}" for k in sorted(labels)) + "}"
    record = AlertRecord(
        device_id=device_id,
        key=key,
        name=name,
        state="resolved" if state == "inactive" else state,
        severity=_str(data.get("severity")),
        value=_num(data.get("value")),
        summary=_str(data.get("summary")),
        labels=labels,
        since=parse_epoch(data.get("since")),
        at=parse_epoch(data.get("at")) or received,
    )
    return AlertUpdate(record, received)


def _command(topic: str, device_id: str, data: dict[str, Any], received: float) -> Update:
    # `command_id` names the command; a result published straight (not through the outbox,
    # whose envelope puts its own `id` in front) may name it `id`.
    command_id = _str(data.get("command_id")) or _str(data.get("id"))
    state = data.get("state")
    if command_id is None:
        raise MessageError(f"{topic}: command result without `command_id`")
    if state not in REPORTED:
        raise MessageError(f"{topic}: command {command_id}: unknown state {state!r}")
    detail = _str(data.get("reason")) or _str(data.get("detail")) or _str(data.get("message"))
    record = CommandRecord(
        command_id=command_id,
        device_id=device_id,
        command=_str(data.get("command")),
        state=state,
        detail=detail,
        issued_at=parse_epoch(data.get("issued_at")),
        # A real device's record says `time`; the simulator's says both.
        updated_at=parse_epoch(data.get("at")) or parse_epoch(data.get("time")) or received,
    )
    return CommandUpdate(record, received)


def _retrain(topic: str, device_id: str, data: dict[str, Any], received: float) -> Update:
    """`{"alert", "alert_key", "fired_at", "samples": [{"id", "at", "model_version",
    "event_type", "data", "context", "decision"}]}`; a malformed sample rejects the message
    (a device of ours never sends one: it is a bug or not ours, and half a batch would hide
    it)."""
    samples = data.get("samples")
    if not isinstance(samples, list) or not samples:
        raise MessageError(f"{topic}: retrain message without `samples`")
    alert = _str(data.get("alert"))
    out = []
    for i, item in enumerate(samples):
        if not isinstance(item, dict):
            raise MessageError(f"{topic}: sample {i}: expected an object")
        sample_id = _str(item.get("id"))
        event_type = _str(item.get("event_type"))
        body, context = item.get("data"), item.get("context")
        if sample_id is None or len(sample_id) > 200:
            raise MessageError(f"{topic}: sample {i}: no `id`")
        if event_type is None:
            raise MessageError(f"{topic}: sample {sample_id}: no `event_type`")
        if not isinstance(body, dict) or not isinstance(context, dict):
            raise MessageError(f"{topic}: sample {sample_id}: `data` and `context` must be objects")
        hour = context.get("hour")
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise MessageError(f"{topic}: sample {sample_id}: context.hour is not 0-23")
        decision = item.get("decision") if isinstance(item.get("decision"), dict) else {}
        out.append(
            RetrainSample(
                device_id=device_id,
                sample_id=sample_id,
                event_type=event_type,
                data=body,
                context=context,
                alert=alert,
                model_version=_str(item.get("model_version")),
                at=parse_epoch(item.get("at")),
                action=_str(decision.get("action")),
                message=decision.get("message")
                if isinstance(decision.get("message"), str)
                else None,
                source=_str(decision.get("source")),
                confidence=_num(decision.get("confidence")),
                received=received,
            )
        )
    return RetrainUpdate(device_id, received, out)
