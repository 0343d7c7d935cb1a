"""CloudEvents 1.0 envelope used on the local agent bus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgetui.models.clock import rfc3339
from edgetui.models.ids import new_id

REQUIRED = ("specversion", "id", "source", "type")


@dataclass
class Event:
    """A CloudEvents 1.0 event: `type` is e.g. MOTION_DETECTED, SPEAK_WARNING, TEMPERATURE."""

    type: str
    source: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    time: str = field(default_factory=rfc3339)
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
