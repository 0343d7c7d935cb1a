"""The fleet console (`edgetui fleet`), the one place in edgetui.fleet that imports Textual.
Offers `FleetApp`, `run_console`."""

from edgetui.fleet.ui.app import FleetApp
from edgetui.fleet.ui.launch import run_console

__all__ = ["FleetApp", "run_console"]
