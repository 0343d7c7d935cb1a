"""The teacher: the rule policy (`edgetui.models.decision.fallback_decision`, the ground
truth) and the grammar-safe answer the student learns from it.

The fallback's own messages contain characters the decision grammar forbids (`_ : ( )`) and
IGNORE's is empty, so `teacher_answer` keeps the fallback's action and rule and words the
message the grammar's way (this is the one place that wording lives):

    Motion detected at front door        (MOTION, night or day)
    Expected visitor at front door       (MOTION where a visitor is expected)
    Loud noise at garage                 (SOUND >= 80 dB at night)
    Loud noise at garage 85.3 dB         (SOUND >= 80 dB by day)
    High temperature at kitchen 72.5 C   (TEMPERATURE >= 70 C)
    Nothing to report at garage          (IGNORE: below threshold, other event types)
"""

from __future__ import annotations

import json
import re
from typing import Any

from edgetui.inference import DECISION_GRAMMAR
from edgetui.models.decision import fallback_decision, is_night, reading

# The grammar's message characters and length (`message ::= [...]{1,N}` in DECISION_GRAMMAR).
_MESSAGE_RULE = re.search(r"message ::= \[(.+)\]\{1,(\d+)\}", DECISION_GRAMMAR)
assert _MESSAGE_RULE is not None, "DECISION_GRAMMAR's message rule changed"
MESSAGE_MAX = int(_MESSAGE_RULE.group(2))
MESSAGE_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + _MESSAGE_RULE.group(1)[8:]
)

# The fallback's rule names (its reason's "rule: ..." text), used for per-rule accuracy.
RULES = (
    "motion where a visitor is expected",
    "motion at night",
    "motion by day",
    "loud sound at night",
    "loud sound by day",
    "sound below threshold",
    "temperature high",
    "temperature normal",
    "no rule for this event type",
)


def period(hour: int) -> str:
    """The word agents.llm puts after the clock time: night, morning, afternoon or evening."""
    if is_night(hour):
        return "night"
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def rule_of(event_type: str, data: dict[str, Any], context: dict[str, Any]) -> tuple[str, str]:
    """(action, rule name) the rule policy gives."""
    d = fallback_decision(event_type, data, context, "teacher")
    return d.action, d.reason.split("rule: ", 1)[1]


def safe_message(text: str) -> str:
    """`text` with every character the grammar forbids turned into a space, spaces collapsed,
    cut to MESSAGE_MAX characters (at a word boundary when possible)."""
    cleaned = "".join(c if c in MESSAGE_CHARS else " " for c in text)
    cleaned = re.sub(r" +", " ", cleaned).strip()
    if len(cleaned) > MESSAGE_MAX:
        cut = cleaned[:MESSAGE_MAX]
        cleaned = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cleaned


def location_words(location: str) -> str:
    """How a location reads in a message: front_door -> "front door"."""
    return safe_message(location)


def teacher_answer(
    event_type: str, data: dict[str, Any], context: dict[str, Any]
) -> tuple[str, str, str]:
    """(action, grammar-safe message, rule name) the student is trained to produce.

    Readings are written `{value:g}` (85.3 -> "85.3", 80.0 -> "80"), as agents.llm writes
    them in recent-event summaries: copying digits is exact for a tiny model, re-rounding
    them (the fallback's "(85 dB)") is not."""
    action, rule = rule_of(event_type, data, context)
    location = data.get("location")
    at = f" at {location_words(str(location))}" if location else ""
    value = reading(event_type, data)
    shown = f" {value:g}" if value is not None else ""
    message = {
        "motion where a visitor is expected": f"Expected visitor{at}",
        "motion at night": f"Motion detected{at}",
        "motion by day": f"Motion detected{at}",
        "loud sound at night": f"Loud noise{at}",
        "loud sound by day": f"Loud noise{at}{shown} dB",
        "temperature high": f"High temperature{at}{shown} C",
    }.get(rule, f"Nothing to report{at}")
    return action, safe_message(message), rule


def answer_text(action: str, message: str) -> str:
    """The exact completion the grammar admits for (action, message)."""
    return json.dumps({"action": action, "message": message}, separators=(",", ":"))
