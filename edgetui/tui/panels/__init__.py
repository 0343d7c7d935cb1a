"""The dashboard's panels, in display order. A part adds its panel class here."""

from edgetui.tui.panels.base import Panel, PanelAction
from edgetui.tui.panels.resources import ResourcesPanel

PANELS: list[type[Panel]] = [
    ResourcesPanel,
]

__all__ = ["PANELS", "Panel", "PanelAction"]
