"""Which type each snapshot section has: the one registry both faces decode by.

A part builds its section as a dataclass from `models/` (states as `StrEnum`s) and both
faces read its attributes. Over the control socket a section travels as JSON; the
receiving `Snapshot.from_dict` turns each registered name back into its type here. A
section whose name is not registered (an older part, a newer peer) stays a plain value.

The JSON form is a contract (`status --json`): `tests/core/test_status_contract.py` holds
every registered type to the checked-in sample, byte for byte.
"""

from __future__ import annotations

from typing import Any

from edgetui.models.agents import AgentRow
from edgetui.models.alerts import AlertsSection
from edgetui.models.buffer_section import BufferSection
from edgetui.models.doctor import DoctorReport
from edgetui.models.drift import DriftSection
from edgetui.models.inference_section import InferenceSection
from edgetui.models.kiosk import KioskSection
from edgetui.models.ota_section import OtaSection
from edgetui.models.remote import CommandsSection
from edgetui.models.security import SecuritySection
from edgetui.models.serde import convert
from edgetui.models.validation import ValidationReport

# name in the snapshot -> the type of its section (a dataclass, or list[...] of one).
# Each part's entry is added beside its dataclass's import, in alphabetical order.
SECTION_TYPES: dict[str, Any] = {
    "agents": list[AgentRow],
    "alerts": AlertsSection,
    "buffer": BufferSection,
    "commands": CommandsSection,
    "doctor": DoctorReport,
    "drift": DriftSection,
    "inference": InferenceSection,
    "kiosk": KioskSection,
    "ota": OtaSection,
    "security": SecuritySection,
    "validation": ValidationReport,
}


def decode_section(name: str, value: Any) -> Any:
    """`value` as the registered type of section `name`, or unchanged if none is."""
    tp = SECTION_TYPES.get(name)
    if tp is None or value is None:
        return value
    return convert(tp, value)
