"""Decisions the LLM agent takes, the completions behind them, and the rule-based fallback.

The fallback policy lives here (plain data in, plain data out) so that both the inference
engine and agents, which may import only models, can apply the same documented rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACTIONS = ("SPEAK_WARNING", "NOTIFY", "IGNORE")
NIGHT_HOURS = (22, 6)  # [22:00, 06:00) counts as night


@dataclass
class Completion:
    """One finished completion with what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    queue_ms: float
    ttft_ms: float | None
    total_ms: float
    tokens_per_s: float | None
    finish_reason: str  # "stop" | "length" | "cancelled"
    # The model's probability of each action at the step where the grammar makes it choose
    # one (softmax over the actions' first tokens); None when not measured.
    action_probs: dict[str, float] | None = None


@dataclass
class Decision:
    """What to do about an event, and why. `source` is "model" or "fallback"."""

    action: str
    message: str
    reason: str
    source: str
    event_type: str = ""
    event_id: str = ""
    location: str | None = None
    latency_ms: float | None = None
    at: str = ""
    raw: str | None = None  # the model's text when source == "model"
    # The model's probability of the action it chose (from llama.cpp's logits under the
    # grammar); None for the fallback policy or when it could not be measured.
    confidence: float | None = None


def is_night(hour: int) -> bool:
    start, end = NIGHT_HOURS
    return hour >= start or hour < end


def fallback_decision(
    event_type: str, data: dict[str, Any], context: dict[str, Any], why: str
) -> Decision:
    """The documented rule-based policy used when the model is unavailable or fails.

    - MOTION_DETECTED at a location where a visitor is expected: NOTIFY.
    - MOTION_DETECTED at night (22:00-06:00): SPEAK_WARNING; by day: NOTIFY.
    - SOUND_LEVEL at or above `sound_alert_db` (default 80): SPEAK_WARNING at night, else NOTIFY.
    - TEMPERATURE at or above `temperature_alert_c` (default 70): NOTIFY.
    - anything else: IGNORE.
    `why` (e.g. "model unavailable: missing file") is kept in the decision's reason.
    """
    hour = int(context.get("hour", 12))
    night = is_night(hour)
    location = data.get("location")
    where = f" at {location}" if location else ""
    expected = [str(v) for v in context.get("expected_visitors", [])]

    def out(action: str, message: str, rule: str) -> Decision:
        return Decision(
            action=action,
            message=message,
            reason=f"{why}; rule: {rule}",
            source="fallback",
            event_type=event_type,
            location=location if isinstance(location, str) else None,
        )

    if event_type == "MOTION_DETECTED":
        if location and any(str(location) in v for v in expected):
            return out("NOTIFY", f"Expected visitor{where}", "motion where a visitor is expected")
        if night:
            return out("SPEAK_WARNING", f"Motion detected{where}", "motion at night")
        return out("NOTIFY", f"Motion detected{where}", "motion by day")
    if event_type == "SOUND_LEVEL":
        if over_threshold(event_type, data, context):
            level = reading(event_type, data) or 0.0
            if night:
                return out("SPEAK_WARNING", f"Loud noise{where}", "loud sound at night")
            return out("NOTIFY", f"Loud noise{where} ({level:.0f} dB)", "loud sound by day")
        return out("IGNORE", "", "sound below threshold")
    if event_type == "TEMPERATURE":
        if over_threshold(event_type, data, context):
            temp = reading(event_type, data) or 0.0
            return out("NOTIFY", f"High temperature{where}: {temp:.1f} C", "temperature high")
        return out("IGNORE", "", "temperature normal")
    return out("IGNORE", "", "no rule for this event type")


# Event type -> (its reading's key, the context key of its alert threshold, the default).
_THRESHOLDS = {
    "SOUND_LEVEL": ("db", "sound_alert_db", 80.0),
    "TEMPERATURE": ("celsius", "temperature_alert_c", 70.0),
}


def reading(event_type: str, data: dict[str, Any]) -> float | None:
    """The number a threshold rule looks at: a SOUND_LEVEL's dB, a TEMPERATURE's Celsius
    (either may come as `value`); None for other types or a missing number."""
    spec = _THRESHOLDS.get(event_type)
    return _number(data.get(spec[0], data.get("value"))) if spec else None


def over_threshold(event_type: str, data: dict[str, Any], context: dict[str, Any]) -> bool:
    """Whether a reading reaches its alert threshold (`sound_alert_db`,
    `temperature_alert_c` in context); event types without a threshold always do."""
    spec = _THRESHOLDS.get(event_type)
    if spec is None:
        return True
    value = reading(event_type, data)
    return value is not None and value >= float(context.get(spec[1], spec[2]))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
