"""Hand-written cases: the golden set (every rule and its edges) and the confidence probes
(ambiguous and clear prompts)."""

from __future__ import annotations

from typing import Any

from edgetui.modelkit.cases import make_case, make_context


def _loc(where: str | None, **data: Any) -> dict[str, Any]:
    return ({"location": where} if where else {}) | data


def golden_cases() -> list[dict[str, Any]]:
    """Hand-written cases: every rule, both sides of each boundary, visitor here vs elsewhere,
    distracting recent events, no location, an unknown event type."""
    c = make_context
    loud = ["sound_level at garage 95.5 (23:05)", "motion_detected at backyard (23:01)"]
    items: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        # motion: night / day and the 22:00 and 06:00 edges
        ("MOTION_DETECTED", _loc("front_door", confidence=0.9, simulated=True), c(23, 10)),
        ("MOTION_DETECTED", _loc("garage"), c(2, 30)),
        ("MOTION_DETECTED", _loc("backyard"), c(0, 0)),
        ("MOTION_DETECTED", _loc("front_door"), c(22, 0)),
        ("MOTION_DETECTED", _loc("backyard"), c(21, 59)),
        ("MOTION_DETECTED", _loc("garage"), c(5, 59)),
        ("MOTION_DETECTED", _loc("garage"), c(6, 0)),
        ("MOTION_DETECTED", _loc("kitchen", confidence=0.61), c(14, 20)),
        ("MOTION_DETECTED", _loc("porch"), c(3, 15, recent=loud)),
        ("MOTION_DETECTED", _loc(None, confidence=0.8), c(1, 45)),
        # motion with visitors: here (any hour) vs elsewhere
        ("MOTION_DETECTED", _loc("front_door"), c(10, 5, ["courier at front_door 09:00-12:00"])),
        ("MOTION_DETECTED", _loc("front_door"), c(23, 30, ["guest at front_door 18:00-23:00"])),
        (
            "MOTION_DETECTED",
            _loc("backyard", simulated=True),
            c(2, 0, ["courier at front_door 09:00-12:00", "nanny at backyard"]),
        ),
        ("MOTION_DETECTED", _loc("garage"), c(23, 45, ["courier at front_door 09:00-12:00"])),
        ("MOTION_DETECTED", _loc("garage"), c(15, 0, ["plumber at kitchen 14:00-16:00"])),
        # sound: 80 dB edge, night / day, the `value` spelling, below threshold at night
        ("SOUND_LEVEL", _loc("garage", db=80.0), c(12, 0)),
        ("SOUND_LEVEL", _loc("garage", db=79.9), c(12, 0)),
        ("SOUND_LEVEL", _loc("backyard", db=92.4, simulated=True), c(23, 40)),
        ("SOUND_LEVEL", _loc("front_door", db=79.9), c(2, 10)),
        ("SOUND_LEVEL", _loc("kitchen", db=105), c(16, 30, recent=loud)),
        ("SOUND_LEVEL", _loc("garage", value=85), c(9, 0)),
        ("SOUND_LEVEL", _loc("front_door", db=88.0), c(22, 0, ["courier at front_door"])),
        # temperature: 70 C edge, night (no night rule), CPU sensor without location
        ("TEMPERATURE", _loc("kitchen", celsius=70.0, sensor="ambient"), c(13, 0)),
        ("TEMPERATURE", _loc("kitchen", celsius=69.9, sensor="ambient"), c(13, 0)),
        ("TEMPERATURE", _loc("garage", celsius=72.5, sensor="ambient"), c(3, 0)),
        ("TEMPERATURE", {"celsius": 75.3, "sensor": "cpu"}, c(11, 11)),
        ("TEMPERATURE", _loc("backyard", celsius=21.3, sensor="ambient", simulated=True), c(8, 0)),
        ("TEMPERATURE", _loc("attic", celsius=-4.5, sensor="ambient"), c(4, 0)),
        # other event types: no rule
        ("DOOR_OPENED", _loc("front_door"), c(2, 0)),
        ("HUMIDITY", _loc("basement", value=95.0), c(12, 30)),
    ]
    return [make_case(t, d, ctx) for t, d, ctx in items]


def ambiguous_cases() -> list[dict[str, Any]]:
    """Probes where a reader could hesitate: exact boundaries, unknown words, odd payloads.
    Labels are still the teacher's."""
    c = make_context
    items = [
        ("MOTION_DETECTED", _loc("front_door"), c(22, 0)),
        ("MOTION_DETECTED", _loc("front_door"), c(21, 59)),
        ("MOTION_DETECTED", _loc("garage"), c(6, 0)),
        ("MOTION_DETECTED", _loc("garage"), c(5, 59)),
        ("SOUND_LEVEL", _loc("garage", db=79.99), c(12, 0)),
        ("SOUND_LEVEL", _loc("garage", db=80.01), c(12, 0)),
        ("SOUND_LEVEL", _loc("garage", db=79.9), c(12, 0)),
        ("SOUND_LEVEL", _loc("garage", db=80), c(12, 0)),
        ("TEMPERATURE", _loc("kitchen", celsius=69.99, sensor="ambient"), c(12, 0)),
        ("TEMPERATURE", _loc("kitchen", celsius=70.01, sensor="ambient"), c(12, 0)),
        ("MOTION_DETECTED", _loc("gazebo"), c(23, 0)),
        ("MOTION_DETECTED", _loc("zz_unknown_place"), c(13, 0)),
        ("MOTION_DETECTED", _loc("front_door"), c(23, 0, ["front_door courier maybe"])),
        ("MOTION_DETECTED", _loc("garage"), c(23, 0, ["someone at garage_door 09:00-10:00"])),
        ("SOUND_LEVEL", _loc("garage", db="loud"), c(23, 0)),
        ("SOUND_LEVEL", _loc("garage", decibels=95), c(23, 0)),
        ("TEMPERATURE", _loc("kitchen", fahrenheit=180), c(12, 0)),
        ("MOTION", _loc("front_door"), c(23, 0)),
        ("SOUND_LEVEL_HIGH", _loc("garage", db=95), c(23, 0)),
        ("TEMPERATURE", _loc("kitchen", celsius=700.0, sensor="ambient"), c(12, 0)),
    ]
    return [make_case(t, d, ctx) for t, d, ctx in items]


def clear_cases() -> list[dict[str, Any]]:
    """Prototypical cases, far from every boundary, for the confidence comparison."""
    c = make_context
    items = [
        ("MOTION_DETECTED", _loc("front_door"), c(2, 0)),
        ("MOTION_DETECTED", _loc("garage"), c(3, 30)),
        ("MOTION_DETECTED", _loc("backyard"), c(14, 0)),
        ("MOTION_DETECTED", _loc("kitchen"), c(10, 0)),
        ("MOTION_DETECTED", _loc("front_door"), c(10, 0, ["courier at front_door 09:00-12:00"])),
        ("MOTION_DETECTED", _loc("garage"), c(1, 0, ["guest at garage"])),
        ("SOUND_LEVEL", _loc("garage", db=40.2), c(12, 0)),
        ("SOUND_LEVEL", _loc("garage", db=101.5), c(12, 0)),
        ("SOUND_LEVEL", _loc("backyard", db=99.0), c(2, 0)),
        ("SOUND_LEVEL", _loc("backyard", db=35), c(2, 0)),
        ("TEMPERATURE", _loc("kitchen", celsius=21.5, sensor="ambient"), c(12, 0)),
        ("TEMPERATURE", _loc("kitchen", celsius=88.0, sensor="ambient"), c(12, 0)),
        ("TEMPERATURE", {"celsius": 91.2, "sensor": "cpu"}, c(12, 0)),
        ("DOOR_OPENED", _loc("front_door"), c(12, 0)),
        ("HUMIDITY", _loc("kitchen", value=40.0), c(12, 0)),
        ("MOTION_DETECTED", _loc("porch", confidence=0.9), c(23, 30)),
        ("SOUND_LEVEL", _loc("front_door", db=30.1), c(23, 0)),
        ("TEMPERATURE", _loc("garage", celsius=15.0, sensor="ambient"), c(3, 0)),
        ("MOTION_DETECTED", _loc("hallway"), c(16, 0)),
        ("SOUND_LEVEL", _loc("kitchen", db=95.5), c(15, 0)),
    ]
    return [make_case(t, d, ctx) for t, d, ctx in items]
