"""Device telemetry: psutil sampling and short histories for sparklines."""

from edgetui.telemetry.history import History
from edgetui.telemetry.sampler import Sampler

__all__ = ["History", "Sampler"]
