"""Filter expressions over devices, for `fleet devices --filter` and the console's `/`.

Terms separated by spaces, all of which must hold:
- `FIELD=VALUE` (a glob for text fields: `id=cam-0*`), `FIELD!=VALUE`;
- `FIELD>N`, `FIELD<N`, `FIELD>=N`, `FIELD<=N` for numeric fields (`seen` takes 30s, 5m, 2h);
- a bare word: a case-insensitive substring of the id, type, release or version.
A device without a value for a compared field does not match.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass

from edgetui.fleet.records import DeviceState


class FilterError(ValueError):
    """A filter expression that cannot be read; the text is one line naming the term."""


TEXT: dict[str, Callable[[DeviceState], str | None]] = {
    "id": lambda d: d.device_id,
    "type": lambda d: d.device_type,
    "status": lambda d: d.status,
    "version": lambda d: d.version,
    "release": lambda d: d.release,
    "slot": lambda d: d.slot,
    "state": lambda d: d.slot_status,
    "agents": lambda d: d.agent_status,
    "by": lambda d: d.ingested_by,
}
NUMBER: dict[str, Callable[[DeviceState, float], float | None]] = {
    "cpu": lambda d, _: d.cpu_percent,
    "mem": lambda d, _: d.memory_percent,
    "p95": lambda d, _: d.inference_p95_ms,
    "backlog": lambda d, _: None if d.buffer_queued is None else float(d.buffer_queued),
    "critical": lambda d, _: float(d.alerts_critical),
    "warning": lambda d, _: float(d.alerts_warning),
    "alerts": lambda d, _: float(d.alerts_critical + d.alerts_warning),
    "seen": lambda d, now: None if d.last_seen is None else now - d.last_seen,
}
FIELDS = sorted([*TEXT, *NUMBER])
_TERM = re.compile(r"^([a-z_]+)(!=|>=|<=|=|>|<)(.*)$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

Test = Callable[[DeviceState, float], bool]


def _number(term: str, text: str) -> float:
    unit = _UNITS.get(text[-1:]) if text else None
    try:
        return float(text[:-1]) * unit if unit else float(text)
    except ValueError:
        raise FilterError(f"filter term {term!r}: {text!r} is not a number") from None


def _compare(op: str, a: float, b: float) -> bool:
    return {
        "=": a == b,
        "!=": a != b,
        ">": a > b,
        "<": a < b,
        ">=": a >= b,
        "<=": a <= b,
    }[op]


def _term(term: str) -> Test:
    m = _TERM.match(term)
    if m is None:
        word = term.lower()
        return lambda d, _: any(
            word in (v or "").lower() for v in (d.device_id, d.device_type, d.release, d.version)
        )
    field, op, value = m.groups()
    if field in TEXT:
        get = TEXT[field]
        if op not in ("=", "!="):
            raise FilterError(f"filter term {term!r}: {field} is text: use = or !=")
        want = op == "="
        return lambda d, _: (
            (get(d) is not None and fnmatch.fnmatchcase(get(d) or "", value)) == want
        )
    if field in NUMBER:
        num, target = NUMBER[field], _number(term, value)

        def test(d: DeviceState, now: float) -> bool:
            v = num(d, now)
            return v is not None and _compare(op, v, target)

        return test
    raise FilterError(
        f"filter term {term!r}: unknown field {field!r} (fields: {', '.join(FIELDS)})"
    )


@dataclass
class DeviceFilter:
    """A parsed filter expression; `matches(device, now)`."""

    text: str
    tests: list[Test]

    @classmethod
    def parse(cls, text: str | None) -> DeviceFilter:
        """Parse `text` (empty: everything matches); FilterError names the bad term."""
        return cls(text or "", [_term(t) for t in (text or "").split()])

    def matches(self, device: DeviceState, now: float) -> bool:
        return all(t(device, now) for t in self.tests)
