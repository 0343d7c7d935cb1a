"""LLM agent: turns sensor events into actions through the inference engine.

For each trigger event it builds local context (time of day, recent events, expected
visitors), asks `ctx.inference.decide()` for a grammar-constrained decision, and publishes
SPEAK_WARNING or NOTIFY (nothing for IGNORE) plus a DECISION event recording what was decided
and why, with the context it was decided in. Without a usable model the engine (or, with no
engine at all, this agent) applies the rule-based policy documented in
`edgetui.models.decision.fallback_decision` and the decision says so.

Settings: `triggers` (["MOTION_DETECTED", "SOUND_LEVEL", "TEMPERATURE"]),
`expected_visitors` (list of strings, e.g. "courier at front_door 09:00-12:00"),
`recent_events` (3), `sound_alert_db` (80), `temperature_alert_c` (70).
Readings below their threshold only feed the context; they are not worth a decision.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from edgetui.agent_host.context import AgentContext
from edgetui.models.decision import Decision, fallback_decision, is_night, over_threshold
from edgetui.models.event import Event
from edgetui.models.serde import to_dict

TRIGGERS = ["MOTION_DETECTED", "SOUND_LEVEL", "TEMPERATURE"]
ACTION_EVENTS = ("SPEAK_WARNING", "NOTIFY")


def _period(hour: int) -> str:
    if is_night(hour):
        return "night"
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def _summary(event: Event) -> str:
    data = event.data or {}
    where = data.get("location")
    value = data.get("db", data.get("celsius", data.get("value")))
    parts = [event.type.lower()]
    if where:
        parts.append(f"at {where}")
    if isinstance(value, int | float):
        parts.append(f"{value:g}")
    return " ".join(parts) + f" ({event.time[11:16]})"


def _notable(event: Event, sound_db: float, temp_c: float) -> bool:
    """Readings below threshold are context, not something to decide about (the same rule
    the fallback policy applies, so the model is never asked what the rules would ignore)."""
    limits = {"sound_alert_db": sound_db, "temperature_alert_c": temp_c}
    return over_threshold(event.type, event.data or {}, limits)


async def run(ctx: AgentContext) -> None:
    """Decide about each trigger event; runs until cancelled."""
    triggers = ctx.setting("triggers", TRIGGERS)
    visitors = [str(v) for v in ctx.setting("expected_visitors", [])]
    recent: deque[str] = deque(maxlen=max(0, ctx.setting("recent_events", 3)))
    sound_db = ctx.setting("sound_alert_db", 80.0)
    temp_c = ctx.setting("temperature_alert_c", 70.0)
    decided = 0
    sub = ctx.subscribe(triggers)
    ctx.set_status("idle", {"decisions": 0, "mode": _mode(ctx)})
    try:
        async for event in sub:
            if not _notable(event, sound_db, temp_c):
                recent.append(_summary(event))
                continue
            ctx.set_status("running")
            now = time.localtime()
            context: dict[str, Any] = {
                "time_of_day": f"{now.tm_hour:02d}:{now.tm_min:02d} ({_period(now.tm_hour)})",
                "hour": now.tm_hour,
                "recent_events": list(recent),
                "expected_visitors": visitors,
                "sound_alert_db": sound_db,
                "temperature_alert_c": temp_c,
            }
            decision = await _decide(ctx, event, context)
            _publish(ctx, event, decision, context)
            decided += 1
            recent.append(_summary(event))
            ctx.set_status(
                "idle",
                {
                    "decisions": decided,
                    "mode": _mode(ctx),
                    "last_decision": {
                        "action": decision.action,
                        "message": decision.message,
                        "source": decision.source,
                        "reason": decision.reason,
                        "event": event.type,
                    },
                },
            )
    finally:
        sub.close()


def _mode(ctx: AgentContext) -> str:
    engine = ctx.inference
    if engine is None:
        return "fallback: no inference engine"
    if not engine.available:
        return f"fallback: {engine.unavailable_reason}"
    return "model"


async def _decide(ctx: AgentContext, event: Event, context: dict[str, Any]) -> Decision:
    if ctx.inference is None:
        decision = fallback_decision(
            event.type, event.data or {}, context, "no inference engine configured"
        )
        decision.event_id, decision.event_type = event.id, event.type
        return decision
    return await ctx.inference.decide(event, context)


def _publish(ctx: AgentContext, cause: Event, decision: Decision, context: dict[str, Any]) -> None:
    data = {
        "message": decision.message,
        "location": decision.location,
        "reason": decision.reason,
        "decided_by": decision.source,
        "cause": cause.id,
    }
    if decision.action in ACTION_EVENTS:
        ctx.publish(decision.action, data)
    # The context the decision was made in rides along: the drift part keeps the recent ones
    # so that, when the owner opts in (`[retrain]`), the inputs behind a drift alert can be
    # sent to the fleet and relabelled there (README "Retraining set").
    ctx.publish("DECISION", {**to_dict(decision), "context": context})
