"""The bus's CloudEvents 1.0 envelope: which attributes an event must carry, and its JSON
form both ways (the MQTT bridge and the RuntimeAPI use it)."""

from __future__ import annotations

import json
import re
from typing import Any

from edgetui.models.event import REQUIRED, Event
from edgetui.models.untrusted import clip

# Types become MQTT topic levels: no '/', '+', '#', wildcards or spaces.
TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


class EnvelopeError(ValueError):
    """An event is not a valid CloudEvents 1.0 envelope; `reason` is a short slug."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def validate_event(event: Event) -> None:
    """Raise EnvelopeError unless `event` carries the required CloudEvents attributes."""
    for attr in REQUIRED:
        value = getattr(event, attr, None)
        if not isinstance(value, str) or not value:
            raise EnvelopeError("missing_attribute", f"event lacks required attribute {attr!r}")
    if event.specversion != "1.0":
        raise EnvelopeError(
            "bad_specversion", f"specversion must be '1.0', not {clip(event.specversion)}"
        )
    if not TYPE_RE.match(event.type):
        # Hostile input is echoed only as a short prefix.
        raise EnvelopeError("bad_type", f"event type {clip(event.type)} is not a plain name")
    if not isinstance(event.data, dict):
        raise EnvelopeError("bad_data", "event data must be a JSON object")
    if not isinstance(event.time, str):
        raise EnvelopeError("bad_time", "event time must be an RFC 3339 string")


_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
_INT64 = 2**63


def event_size(event: Event) -> int:
    """The size in bytes of a validated event as JSON (ASCII-escaped; escapes inside short
    ASCII strings are not counted), used to bound the bus by bytes, not only by count.
    Raises EnvelopeError when its data cannot be encoded (a cycle, nesting past the
    recursion limit).

    Runs on every publish, so the common event (a flat object of numbers and ASCII
    strings) is measured without encoding it: a fraction of json.dumps' cost."""
    ct = event.datacontenttype
    # The attributes (strings once validated), their names and punctuation: about 120 bytes.
    n = len(event.type) + len(event.source) + len(event.id) + len(event.time) + 122
    if type(ct) is str:
        n += len(ct)
    try:
        for k, v in event.data.items():
            t = type(v)
            if t is str and v.isascii():
                n += len(k) + len(v) + 6  # "k":"v",
            elif (t is int and -_INT64 < v < _INT64) or t is float or t is bool or v is None:
                n += len(k) + 28  # at most 20 digits, or a float's repr (24)
            else:
                break
        else:
            return n
    except TypeError:  # a key that is not a string
        pass
    try:
        data = len(_encode(event.data))
    except (ValueError, TypeError, RecursionError) as exc:
        raise EnvelopeError(
            "bad_data", f"event data cannot be encoded as JSON: {clip(str(exc), 80)}"
        ) from None
    return n - 2 + data


def event_dict(event: Event) -> dict[str, Any]:
    """The JSON-ready form of an event (what to_dict gives, built directly: it runs on every
    publish). `data` is copied one level deep; its values are shared."""
    return {
        "type": event.type,
        "source": event.source,
        "data": dict(event.data),
        "id": event.id,
        "time": event.time,
        "specversion": event.specversion,
        "datacontenttype": event.datacontenttype,
    }


def event_from_dict(obj: Any) -> Event:
    """Build and validate an Event from a decoded JSON value (raises EnvelopeError)."""
    if not isinstance(obj, dict):
        raise EnvelopeError("not_object", "event must be a JSON object")
    for attr in REQUIRED:
        if attr not in obj:
            raise EnvelopeError("missing_attribute", f"event lacks required attribute {attr!r}")
    data = obj.get("data")
    kwargs: dict[str, Any] = {k: obj[k] for k in (*REQUIRED, "time", "datacontenttype") if k in obj}
    kwargs["data"] = {} if data is None else data
    event = Event(**kwargs)
    validate_event(event)
    return event
