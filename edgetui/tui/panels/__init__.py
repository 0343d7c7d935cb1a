"""The dashboard's panels, in display order. A part adds its panel class here."""

from edgetui.tui.panels.agents import AgentsPanel
from edgetui.tui.panels.alerts import AlertsPanel
from edgetui.tui.panels.base import Panel, PanelAction
from edgetui.tui.panels.buffer import BufferPanel
from edgetui.tui.panels.bus import BusPanel
from edgetui.tui.panels.doctor import DoctorPanel
from edgetui.tui.panels.inference import InferencePanel
from edgetui.tui.panels.ota import OtaPanel
from edgetui.tui.panels.resources import ResourcesPanel
from edgetui.tui.panels.security import SecurityPanel

PANELS: list[type[Panel]] = [
    AlertsPanel,
    DoctorPanel,
    ResourcesPanel,
    BusPanel,
    InferencePanel,
    AgentsPanel,
    OtaPanel,
    BufferPanel,
    SecurityPanel,
]

__all__ = ["PANELS", "Panel", "PanelAction"]
