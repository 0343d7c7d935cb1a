"""Yes/no confirmation before a destructive action: the one screen both faces share
(`edgetui.widgets.confirm`)."""

from __future__ import annotations

from edgetui.widgets.confirm import ConfirmScreen

__all__ = ["ConfirmScreen"]
