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

    source: ReferenceSource = ReferenceSource.NONE
    samples: int = 0
    size: int = 0
    recorded_at: str | None = None


@dataclass
class RetrainLast:
    """The last alert that queued samples for the fleet."""

    alert: str = ""
    at: str = ""
    samples: int = 0


@dataclass
class RetrainSection:
    """`drift.retrain`: what the retraining sampler keeps and sent."""

    share_inputs: bool = False
    kept: int = 0
    max_samples: int = 0
    sent_today: int = 0
    max_per_day: int = 0
    sent: int = 0
    held_back: int = 0
    last: RetrainLast | None = None


@dataclass
class DriftSection:
    """The `drift` section of the snapshot."""

    version: str | None = None
    psi_max: float | None = None
    psi: PsiScores = field(default_factory=PsiScores)
    band: DriftBand = DriftBand.NONE
    reference: DriftReference = field(default_factory=DriftReference)
    window_samples: int = 0
    window_size: int = 0
    min_samples: int = 0
    confidence_mean: float | None = None
    confidence_reference: float | None = None
    confidence_drop: float | None = None
    retrain: RetrainSection | None = field(default=None, metadata=OMIT_NONE)
