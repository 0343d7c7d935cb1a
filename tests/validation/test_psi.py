"""PSI and its bands (pure functions)."""

from __future__ import annotations

import math

from edgetui.validation.psi import EPSILON, band, bins, psi


def test_identical_distributions_have_no_drift() -> None:
    ref = {"NOTIFY": 60, "IGNORE": 30, "SPEAK_WARNING": 10}
    assert psi(ref, {k: v * 3 for k, v in ref.items()}) == 0.0
    assert band(0.0) == "none"


def test_psi_matches_the_formula_and_survives_empty_bins() -> None:
    ref = {"a": 50, "b": 50}
    cur = {"a": 80, "b": 20}
    want = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(ref, cur) == round(want, 4)
    shifted = psi(ref, {"c": 10})  # bins only one side has: epsilon, finite
    want = 2 * (EPSILON - 0.5) * math.log(EPSILON / 0.5) + (1 - EPSILON) * math.log(1 / EPSILON)
    assert shifted is not None and math.isfinite(shifted) and shifted == round(want, 4)
    assert psi({}, cur) is None and psi(ref, {}) is None


def test_bands_follow_evidently() -> None:
    assert [band(v) for v in (None, 0.05, 0.1, 0.19, 0.2, 3.0)] == [
        "none",
        "none",
        "moderate",
        "moderate",
        "significant",
        "significant",
    ]


def test_bins_of_a_decision() -> None:
    b = bins("SOUND_LEVEL", {"db": 87.5, "location": "garage"}, 23, "SPEAK_WARNING")
    assert b == {
        "event_type": "SOUND_LEVEL",
        "location": "garage",
        "hour": "21-24",
        "reading": "SOUND_LEVEL:80",
        "action": "SPEAK_WARNING",
    }
    assert bins("MOTION_DETECTED", {}, 0, "NOTIFY")["reading"] == "none"
    assert bins("MOTION_DETECTED", {}, 0, "NOTIFY")["location"] == "none"
