"""Population Stability Index over categorical histograms, and the bins drift uses.

PSI = sum over bins of (a - e) * ln(a / e), with a and e the current and reference shares
of each bin; an empty bin counts as EPSILON so the sum stays finite. Evidently's bands:
below 0.1 no drift, 0.1 to 0.2 moderate, 0.2 and above significant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from edgetui.models.decision import reading
from edgetui.models.drift import DriftBand

EPSILON = 1e-4
MODERATE, SIGNIFICANT = 0.1, 0.2
FEATURES = ("event_type", "location", "hour", "reading", "action")
HOUR_BIN = 3  # hours per bin of the hour-of-day histogram (8 bins)
READING_STEP = {"SOUND_LEVEL": 10.0, "TEMPERATURE": 10.0}  # dB, degrees C per bin


def psi(reference: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """PSI of `current` against `reference` (counts per bin); None if either is empty."""
    ref_total = sum(reference.values())
    cur_total = sum(current.values())
    if ref_total <= 0 or cur_total <= 0:
        return None
    total = 0.0
    for key in set(reference) | set(current):
        e = max(reference.get(key, 0) / ref_total, EPSILON)
        a = max(current.get(key, 0) / cur_total, EPSILON)
        total += (a - e) * math.log(a / e)
    return round(total, 4)


def band(value: float | None) -> DriftBand:
    """ "none", "moderate" or "significant" (Evidently's bands); "none" when unknown."""
    if value is None or value < MODERATE:
        return DriftBand.NONE
    return DriftBand.MODERATE if value < SIGNIFICANT else DriftBand.SIGNIFICANT


def bins(event_type: str, data: Mapping[str, Any], hour: int, action: str) -> dict[str, str]:
    """One decision's bin in each feature's histogram."""
    value = reading(event_type, dict(data))
    if value is None:
        read = "none"
    else:
        step = READING_STEP.get(event_type, 10.0)
        read = f"{event_type}:{int(math.floor(value / step) * step)}"
    location = data.get("location")
    lo = (hour // HOUR_BIN) * HOUR_BIN
    return {
        "event_type": event_type or "none",
        "location": location if isinstance(location, str) and location else "none",
        "hour": f"{lo:02d}-{lo + HOUR_BIN:02d}",
        "reading": read,
        "action": action,
    }
