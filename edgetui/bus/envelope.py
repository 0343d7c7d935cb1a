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


def event_size(event: Event) -> int:
    """The event's size in bytes as JSON (ASCII-escaped, so characters are bytes); raises
    EnvelopeError when its data cannot be encoded (a cycle, nesting past the recursion
    limit). Bounds the bus by bytes, not only by count."""
    try:
        data = json.dumps(event.data, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError) as exc:
        raise EnvelopeError("bad_data", f"event data cannot be encoded as JSON: {exc}") from None
    # The attributes, their names and the punctuation around them: about 120 bytes.
    attrs = (event.type, event.source, event.id, event.time, event.datacontenttype)
    return len(data) + sum(len(a) for a in attrs if isinstance(a, str)) + 120


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
