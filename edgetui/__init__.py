"""edgetui: the on-device operations console for an edge AI agent."""

__version__ = "0.1.0"
