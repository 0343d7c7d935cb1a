"""The snapshot: everything the faces show, as one JSON-serialisable object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgetui.models.resources import ResourceHistory, ResourceSample
from edgetui.models.sections import decode_section
from edgetui.models.serde import from_dict, to_dict


@dataclass
class Snapshot:
    """State of the device at one instant, as `edgetui status --json` prints it.

    `resources` is always present; the other sections appear once the part that fills
    them is running (a missing part is absent, never faked). Each part publishes its
    section as its typed dataclass (`models/sections.py` lists them); the JSON form is
    the same as before they were typed, and unknown keys from a newer peer are ignored.
    """

    device_id: str
    device_type: str
    mode: str  # "standalone" | "attached"
    version: str
    time: str  # RFC 3339, UTC
    resources: ResourceSample
    history: ResourceHistory = field(default_factory=ResourceHistory)
    sections: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A section given in its JSON form (a test's literal, an older caller) becomes its
        # registered type here, so the faces always read attributes; a typed one is kept.
        # In place: the runtime adds the alerts to the dict it handed in, after the fact.
        for name, value in self.sections.items():
            self.sections[name] = decode_section(name, value)

    def to_dict(self, *, with_history: bool = True) -> dict[str, Any]:
        """JSON form: sections are flattened beside `resources` (agents, inference, ota...)."""
        out: dict[str, Any] = {
            "device_id": self.device_id,
            "device_type": self.device_type,
            "mode": self.mode,
            "version": self.version,
            "time": self.time,
            "resources": to_dict(self.resources),
        }
        for name, value in self.sections.items():
            out[name] = to_dict(value)
        if with_history:
            out["history"] = to_dict(self.history)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """Inverse of `to_dict`; unknown top-level keys become sections."""
        fixed = {"device_id", "device_type", "mode", "version", "time", "resources", "history"}
        return cls(
            device_id=data["device_id"],
            device_type=data.get("device_type", ""),
            mode=data["mode"],
            version=data["version"],
            time=data["time"],
            resources=from_dict(ResourceSample, data["resources"]),
            history=from_dict(ResourceHistory, data.get("history") or {}),
            sections={k: v for k, v in data.items() if k not in fixed},
        )
