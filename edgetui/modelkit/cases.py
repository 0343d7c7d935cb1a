"""Random distillation cases: sensor events in the agent's context, labelled by the teacher.

A case is `{"event_type", "data", "context": {"hour", "time_of_day", "expected_visitors",
"recent_events"}, "expected": {"action", "message"}, "rule", "prompt"}`; `context` is what
agents.llm builds, `prompt` is `build_prompt`'s text (the dedupe key between splits).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Any

from edgetui.inference import build_prompt
from edgetui.modelkit.teacher import period, teacher_answer
from edgetui.modelkit.vocab import LOCATIONS

# A visitor string: "courier at front_door 09:00-12:00" -> role, location, the rest.
_VISITOR_RE = re.compile(r"^(\S+) at (\S+)(.*)$")

# The sensor agent's default locations (agents/sensor.py) come first; every LOCATIONS entry
# is a whole-word token.
SENSOR_LOCATIONS = ("front_door", "garage", "backyard")
WORD_LOCATIONS = LOCATIONS
# Spelled letter by letter (not in the vocabulary): teaches copying names the vocabulary
# does not know. None is a substring of another location or of a visitor string.
CHAR_LOCATIONS = (
    "dock",
    "gate",
    "shed",
    "pool",
    "patio",
    "cellar",
    "lobby",
    "barn",
    "side_door",
    "stairs",
    "loft",
    "study",
    "pantry",
    "nursery",
    "terrace",
    "workshop_b",
    "lab",
    "server_room",
)
# Never in train/val/test: the out-of-distribution location probe.
OOD_LOCATIONS = ("gym", "sauna", "balcony", "laundry", "boathouse", "wine_vault_2")
ROLES = ("courier", "plumber", "guest", "cleaner", "electrician", "nanny", "friend", "delivery")
OTHER_TYPES = ("DOOR_OPENED", "HUMIDITY", "LIGHT_LEVEL", "BATTERY_LOW", "WATER_LEAK")
TRIGGER_WEIGHTS = (("MOTION_DETECTED", 46), ("SOUND_LEVEL", 22), ("TEMPERATURE", 22), ("OTHER", 10))


def _check_no_substrings() -> None:
    """The visitor rule is a substring test; keep generated names from colliding by accident."""
    names = (*WORD_LOCATIONS, *CHAR_LOCATIONS, *OOD_LOCATIONS)
    for a in names:
        for b in (*names, *ROLES):
            if a != b and a in b:
                raise AssertionError(f"location {a!r} is a substring of {b!r}")


_check_no_substrings()


def make_context(
    hour: int,
    minute: int,
    visitors: list[str] | None = None,
    recent: list[str] | None = None,
) -> dict[str, Any]:
    """The context agents.llm builds (thresholds left at their defaults)."""
    return {
        "hour": hour,
        "time_of_day": f"{hour:02d}:{minute:02d} ({period(hour)})",
        "expected_visitors": list(visitors or []),
        "recent_events": list(recent or []),
    }


def make_case(event_type: str, data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """One labelled case (the teacher's answer and the prompt text)."""
    action, message, rule = teacher_answer(event_type, data, context)
    return {
        "event_type": event_type,
        "data": data,
        "context": context,
        "expected": {"action": action, "message": message},
        "rule": rule,
        "prompt": build_prompt(event_type, data, context),
    }


class Generator:
    """Random cases over every location, all hours, both sides of each threshold, with and
    without visitors (here and elsewhere) and with distracting recent events."""

    def __init__(self, seed: int, locations: tuple[str, ...]) -> None:
        self.rng = random.Random(seed)
        self.locations = locations

    # -- pieces -----------------------------------------------------------------------
    def hour_minute(self) -> tuple[int, int]:
        r = self.rng
        hour = r.choice((5, 6, 21, 22)) if r.random() < 0.25 else r.randrange(24)
        minute = r.choice((0, 59)) if r.random() < 0.15 else r.randrange(60)
        return hour, minute

    def location(self) -> str:
        r = self.rng
        if r.random() < 0.35:
            return r.choice(SENSOR_LOCATIONS)
        return r.choice(self.locations)

    def visitor(self, location: str) -> str:
        r = self.rng
        who = r.choice(ROLES)
        if r.random() < 0.2:
            return f"{who} at {location}"
        start = r.randrange(0, 23)
        end = r.randrange(start + 1, 24)
        return f"{who} at {location} {start:02d}:00-{end:02d}:00"

    def visitors(self, here: str | None, motion: bool) -> list[str]:
        """0-3 visitor strings; for a located event, often one of them is here. Motion gets
        visitors more often: "is a visitor expected HERE" is the hardest rule to learn."""
        r = self.rng
        n = r.choices((0, 1, 2, 3), weights=(25, 42, 24, 9) if motion else (50, 32, 13, 5))[0]
        out = []
        for _ in range(n):
            others = [x for x in self.locations if x != here]
            out.append(self.visitor(r.choice(others)))
        if here and n and r.random() < 0.5:
            out[r.randrange(n)] = self.visitor(here)
        return out

    def value(self, low: float, high: float, edge: float) -> float | int:
        r = self.rng
        mode = r.random()
        if mode < 0.35:
            return round(r.uniform(low, high), 1)
        if mode < 0.75:
            return round(r.uniform(edge - 5, edge + 5), 1)
        if mode < 0.9:
            return r.choice((edge - 0.1, float(edge), edge + 0.1, edge - 0.5, edge + 0.5, edge - 1))
        return r.randrange(int(low), int(high) + 1)

    def summary(self, hour: int, minute: int) -> str:
        """One recent-event summary as agents.llm._summary writes it."""
        r = self.rng
        kind = r.choice(("motion_detected", "sound_level", "temperature", "temperature_cpu"))
        m = (minute - r.randrange(0, 30)) % 60
        h = hour if m <= minute else (hour - 1) % 24
        when = f"({h:02d}:{m:02d})"
        where = self.location()
        if kind == "motion_detected":
            return f"motion_detected at {where} {when}"
        if kind == "sound_level":
            db = round(r.uniform(30, 110), 1) if r.random() < 0.8 else r.randrange(30, 110)
            return f"sound_level at {where} {db:g} {when}"
        if kind == "temperature":
            return f"temperature at {where} {round(r.uniform(5, 80), 1):g} {when}"
        return f"temperature {round(r.uniform(35, 90), 1):g} {when}"

    def recent(self, hour: int, minute: int) -> list[str]:
        n = self.rng.choices((0, 1, 2, 3), weights=(25, 20, 20, 35))[0]
        return [self.summary(hour, minute) for _ in range(n)]

    # -- events -----------------------------------------------------------------------
    def event(self, where: str) -> tuple[str, dict[str, Any]]:
        r = self.rng
        kind = r.choices([k for k, _ in TRIGGER_WEIGHTS], weights=[w for _, w in TRIGGER_WEIGHTS])[
            0
        ]
        sim = r.random() < 0.6
        if kind == "MOTION_DETECTED":
            data: dict[str, Any] = {}
            if r.random() < 0.7:
                data["confidence"] = round(r.uniform(0.5, 1.0), 2)
            return kind, self._mostly_at(data, where, sim)
        if kind == "SOUND_LEVEL":
            key = "db" if r.random() < 0.9 else "value"
            return kind, self._mostly_at({key: self.value(25, 110, 80.0)}, where, sim)
        if kind == "TEMPERATURE":
            key = "celsius" if r.random() < 0.9 else "value"
            if r.random() < 0.25:  # the CPU sensor: no location
                return kind, {key: self.value(30, 95, 70.0), "sensor": "cpu"}
            data = {key: self.value(-5, 45, 70.0) if r.random() < 0.3 else self.value(40, 95, 70.0)}
            data["location"] = where
            data["sensor"] = "ambient"
            if sim:
                data["simulated"] = True
            return kind, data
        data = {"location": where}
        if r.random() < 0.5:
            data["value"] = round(r.uniform(0, 120), 1)
        return r.choice(OTHER_TYPES), data

    def _mostly_at(self, data: dict[str, Any], where: str, sim: bool) -> dict[str, Any]:
        """`data` with the location (left out 4% of the time) and the simulated flag."""
        if self.rng.random() < 0.96:
            data["location"] = where
        if sim:
            data["simulated"] = True
        return data

    def case(self) -> dict[str, Any]:
        hour, minute = self.hour_minute()
        where = self.location()
        event_type, data = self.event(where)
        context = make_context(
            hour,
            minute,
            self.visitors(data.get("location"), event_type == "MOTION_DETECTED"),
            self.recent(hour, minute),
        )
        return make_case(event_type, data, context)


class RandomNameGenerator(Generator):
    """Cases at made-up location names (random letters, sometimes two words joined by "_"),
    so that the model must COPY a name it has never seen into its message instead of
    recalling one of a fixed list; readings sometimes carry two decimals."""

    _LETTERS = "abcdefghijklmnopqrstuvwxyz"

    def __init__(self, seed: int, avoid: tuple[str, ...] = OOD_LOCATIONS) -> None:
        super().__init__(seed, WORD_LOCATIONS)
        self.avoid = avoid

    def name(self) -> str:
        r = self.rng
        while True:
            word = "".join(r.choice(self._LETTERS) for _ in range(r.randint(4, 9)))
            if r.random() < 0.25:
                word += "_" + "".join(r.choice(self._LETTERS) for _ in range(r.randint(2, 5)))
            if not any(a in word or word in a for a in (*self.avoid, *ROLES, *WORD_LOCATIONS)):
                return word

    def location(self) -> str:
        return self.name() if self.rng.random() < 0.8 else super().location()

    def visitors(self, here: str | None, motion: bool) -> list[str]:
        out = super().visitors(here, motion)
        # the other visitors at made-up places too (keep the one that is here)
        return [
            v
            if here and f" at {here}" in v
            else _VISITOR_RE.sub(lambda m: f"{m.group(1)} at {self.name()}{m.group(3)}", v)
            for v in out
        ]

    def value(self, low: float, high: float, edge: float) -> float | int:
        v = super().value(low, high, edge)
        if self.rng.random() < 0.15:
            return round(self.rng.uniform(edge - 0.5, edge + 0.5), 2)
        return v


def random_name_cases(seed: int, n: int, exclude: Iterable[str]) -> list[dict[str, Any]]:
    """`n` cases at made-up locations, none of whose prompts is in `exclude`."""
    gen = RandomNameGenerator(seed)
    seen = set(exclude)
    out = []
    while len(out) < n:
        case = gen.case()
        if case["prompt"] not in seen:
            seen.add(case["prompt"])
            out.append(case)
    return out
