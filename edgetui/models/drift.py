"""The `drift` section: PSI of the decisions' inputs against a reference, and the
retraining sampler's counts (`drift.retrain`, present when `[retrain]` is on)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from edgetui.models.serde import OMIT_NONE


class DriftBand(enum.StrEnum):
    """Evidently's PSI bands; "none" also when nothing is measured yet."""

    NONE = "none"
    MODERATE = "moderate"
    SIGNIFICANT = "significant"


class ReferenceSource(enum.StrEnum):
    """Where the reference histograms come from ("recording": the first window fills up)."""

    NONE = "none"
    RECORDING = "recording"
    BUNDLE = "bundle"
    FIRST_WINDOW = "first_window"


@dataclass
class PsiScores:
    """PSI of each feature (None until both windows hold enough samples)."""

    event_type: float | None = None
    location: float | None = None
    hour: float | None = None
    reading: float | None = None
    action: float | None = None


@dataclass
class DriftReference:
    """The reference the window is compared with."""

    source: ReferenceSource
    samples: int
    size: int
    recorded_at: str | None


@dataclass
class RetrainLast:
    """The last alert that queued samples for the fleet."""

    alert: str
    at: str
    samples: int


@dataclass
class RetrainSection:
    """`drift.retrain`: what the retraining sampler keeps and sent."""

    share_inputs: bool
    kept: int
    max_samples: int
    sent_today: int
    max_per_day: int
    sent: int
    held_back: int
    last: RetrainLast | None


@dataclass
class DriftSection:
    """The `drift` section of the snapshot."""

    version: str | None
    psi_max: float | None
    psi: PsiScores
    band: DriftBand
    reference: DriftReference
    window_samples: int
    window_size: int
    min_samples: int
    confidence_mean: float | None
    confidence_reference: float | None
    confidence_drop: float | None
    retrain: RetrainSection | None = field(default=None, metadata=OMIT_NONE)
