"""The decision prompt and the GBNF grammar that keeps a model's answer a valid decision.

The grammar admits exactly `{"action":"<SPEAK_WARNING|NOTIFY|IGNORE>","message":"<1-40
safe characters>"}`, so any output that completes parses; the token budget covers the
worst case of one character per token.
"""

from __future__ import annotations

import json
from typing import Any

from edgetui.models.decision import ACTIONS

MESSAGE_MAX = 40
DECISION_GRAMMAR = (
    'root ::= "{\\"action\\":\\"" action "\\",\\"message\\":\\"" message "\\"}"\n'
    "action ::= " + " | ".join(f'"{a}"' for a in ACTIONS) + "\n"
    f"message ::= [a-zA-Z0-9 .,!?'-]{{1,{MESSAGE_MAX}}}\n"
)
# Worst case, one token per character: the fixed JSON text plus the longest action/message.
DECISION_TOKEN_BUDGET = len('{"action":"","message":""}') + max(map(len, ACTIONS)) + MESSAGE_MAX + 2


class DecisionParseError(ValueError):
    """The model's text is not a decision (only possible when output was cut short)."""


def build_prompt(event_type: str, data: dict[str, Any], context: dict[str, Any]) -> str:
    """A short instruction prompt with the event and the local context."""
    lines = [
        "You guard a home. Decide: SPEAK_WARNING (warn aloud), NOTIFY (tell the owner) or "
        "IGNORE. Answer JSON with action and a short message.",
        f"Time: {context.get('time_of_day', 'unknown')}",
    ]
    visitors = context.get("expected_visitors") or []
    if visitors:
        lines.append("Expected: " + "; ".join(map(str, visitors)))
    recent = context.get("recent_events") or []
    if recent:
        lines.append("Recent: " + "; ".join(map(str, recent)))
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"))
    lines.append(f"Event: {event_type} {payload}")
    lines.append("Decision:")
    return "\n".join(lines)


def parse_decision(text: str) -> tuple[str, str]:
    """(action, message) from the model's text; raises DecisionParseError."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecisionParseError(f"not JSON ({exc.msg}): {text[:60]!r}") from None
    if not isinstance(obj, dict) or obj.get("action") not in ACTIONS:
        raise DecisionParseError(f"no allowed action in {text[:60]!r}")
    message = obj.get("message")
    if not isinstance(message, str):
        raise DecisionParseError(f"no message in {text[:60]!r}")
    return obj["action"], message.strip()
