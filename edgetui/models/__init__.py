"""Plain dataclasses that cross boundaries (control socket, CLI JSON, UI)."""

from edgetui.models.resources import ResourceHistory, ResourceSample
from edgetui.models.serde import from_dict, to_dict
from edgetui.models.snapshot import Snapshot

__all__ = ["ResourceHistory", "ResourceSample", "Snapshot", "from_dict", "to_dict"]
