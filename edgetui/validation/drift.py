"""DriftService ("drift"): rolling histograms of the llm agent's inputs and outputs, compared
with a reference by PSI, and the model's mean confidence against the reference's.

Observations come from the bus (handed in by the runtime): each DECISION event gives the
event type, location, hour and action (and the model's confidence); the reading comes from
the SOUND_LEVEL / TEMPERATURE event the decision was about. The reference is the slot's
`drift_reference.json` when the bundle ships one, else the first `drift_reference_size`
decisions after the slot committed; it is kept per model version in the validation database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edgetui.cancel import cancel_and_wait
from edgetui.config import ValidationConfig
from edgetui.models.clock import parse_rfc3339, rfc3339
from edgetui.models.drift import DriftReference, DriftSection, PsiScores, ReferenceSource
from edgetui.validation.db import ValidationDB
from edgetui.validation.psi import FEATURES, band, bins, psi
from edgetui.validation.retrain import RetrainSampler

log = logging.getLogger(__name__)
TYPES = ["DECISION", "SOUND_LEVEL", "TEMPERATURE", "MOTION_DETECTED"]
CAUSES_KEPT = 512  # trigger events remembered for the decision that follows them
REFERENCE_FILE = "drift_reference.json"


@dataclass
class DriftHooks:
    """What the runtime lends the drift tracker."""

    subscribe: Callable[[list[str]], Any]  # -> a bus subscription (async iterable, close())
    model_version: Callable[[], str | None] = lambda: None
    committed: Callable[[], bool] = lambda: True


@dataclass
class Observation:
    """One decision: its bin per feature, and the model's confidence (if any)."""

    bins: dict[str, str]
    confidence: float | None


def _hour(at: Any) -> int:
    try:
        return parse_rfc3339(at, assume_utc=True).astimezone().hour
    except ValueError:
        return datetime.now().hour


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


class Reference:
    """The histograms decisions are compared with, and their mean confidence."""

    def __init__(self, source: str, size: int) -> None:
        self.source = source  # "bundle" | "first_window"
        self.size = size  # decisions it takes to complete (first_window)
        self.histograms: dict[str, Counter[str]] = {f: Counter() for f in FEATURES}
        self.confidences: list[float] = []
        self.samples = 0
        self.recorded_at: str | None = None
        self._confidence_mean: float | None = None

    @property
    def complete(self) -> bool:
        return self.recorded_at is not None

    @property
    def confidence_mean(self) -> float | None:
        return self._confidence_mean if self.complete else _mean(self.confidences)

    def add(self, obs: Observation) -> bool:
        """Count one decision; True when this one completed the reference."""
        for feature, value in obs.bins.items():
            self.histograms[feature][value] += 1
        if obs.confidence is not None:
            self.confidences.append(obs.confidence)
        self.samples += 1
        if self.samples >= self.size:
            self.recorded_at = rfc3339()
            self._confidence_mean = _mean(self.confidences)
            return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "samples": self.samples,
            "recorded_at": self.recorded_at,
            "histograms": {f: dict(c) for f, c in self.histograms.items()},
            "confidence_mean": self.confidence_mean,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str) -> Reference:
        """A stored or shipped reference; ValueError when it is not one."""
        hist = data.get("histograms")
        if not isinstance(hist, dict):
            raise ValueError("drift reference lacks histograms")
        ref = cls(source, 0)
        for feature in FEATURES:
            counts = hist.get(feature) or {}
            if not isinstance(counts, dict):
                raise ValueError(f"drift reference: histograms.{feature} is not an object")
            ref.histograms[feature] = Counter(
                {str(k): float(v) for k, v in counts.items() if isinstance(v, int | float)}
            )
        ref.samples = int(data.get("samples") or sum(ref.histograms["action"].values()))
        ref.recorded_at = str(data.get("recorded_at") or rfc3339())
        conf = data.get("confidence_mean")
        ref._confidence_mean = float(conf) if isinstance(conf, int | float) else None
        return ref


class DriftService:
    """Service "drift"."""

    name = "drift"

    def __init__(
        self,
        config: ValidationConfig,
        state_dir: Path,
        db: Callable[[], ValidationDB | None],
        hooks: DriftHooks,
        retrain: RetrainSampler | None = None,
    ) -> None:
        self.config = config
        # The recent inputs behind the decisions, for the retraining trigger (retrain.py).
        self.retrain = retrain
        self.state_dir = Path(state_dir)
        self._db = db
        self.hooks = hooks
        self.window: deque[Observation] = deque(maxlen=config.drift_window)
        self.reference: Reference | None = None
        self.version: str | None = None
        self.observed = 0  # DECISION events taken in since start
        self._causes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache: DriftSection | None = None
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self._sub = self.hooks.subscribe(TYPES)
        self._task = asyncio.create_task(self._consume(), name="drift")

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        await cancel_and_wait(self._task)
        self._task = None
        if self.retrain is not None:
            await self.retrain.stop()

    async def _consume(self) -> None:
        async for event in self._sub:
            try:
                await self.observe_event(event.type, event.id, event.data or {})
            except Exception:
                log.exception("drift: could not take in a %s event", event.type)

    # -- observations -----------------------------------------------------------------
    async def _ensure_version(self) -> None:
        version = self.hooks.model_version()
        if version == self.version:
            return
        self.version, self.reference, self._cache = version, None, None
        self.window.clear()
        if version is None:
            return
        self.reference = await asyncio.to_thread(self._load_reference, version)

    def _load_reference(self, version: str) -> Reference | None:
        shipped = self.state_dir / "slots" / "current" / REFERENCE_FILE
        if shipped.exists():
            try:
                return Reference.from_json(json.loads(shipped.read_text("utf-8")), "bundle")
            except (OSError, ValueError) as exc:
                log.warning("drift: %s ignored: %s", shipped, exc)
        db = self._db()
        stored = db.drift_reference(version) if db is not None else None
        if stored is not None:
            with contextlib.suppress(ValueError):
                return Reference.from_json(stored, str(stored.get("source") or "first_window"))
        return None

    async def observe_event(self, type_: str, event_id: str, data: dict[str, Any]) -> None:
        """Take in one bus event (a trigger is remembered for its decision)."""
        if type_ != "DECISION":
            self._causes[event_id] = data
            while len(self._causes) > CAUSES_KEPT:
                self._causes.popitem(last=False)
            return
        self.observed += 1
        await self._ensure_version()
        if self.version is None:
            return  # no model running: nothing of it to drift
        cause = self._causes.pop(str(data.get("event_id") or ""), None) or {}
        inputs = dict(cause)
        if data.get("location") and "location" not in inputs:
            inputs["location"] = data["location"]
        if self.retrain is not None and cause:  # without its trigger a sample is no case
            self.retrain.observe(
                str(data.get("event_type") or ""), inputs, data.get("context"), data, self.version
            )
        conf = data.get("confidence")
        obs = Observation(
            bins(
                str(data.get("event_type") or ""),
                inputs,
                _hour(data.get("at")),
                str(data.get("action") or "none"),
            ),
            float(conf) if isinstance(conf, int | float) else None,
        )
        self._cache = None
        ref = self.reference
        if ref is None or not ref.complete:
            if not self.hooks.committed():
                return  # a trial slot's decisions are not its reference
            if ref is None:
                ref = self.reference = Reference("first_window", self.config.drift_reference_size)
            if ref.add(obs):
                db = self._db()
                if db is not None:
                    await asyncio.to_thread(
                        db.save_drift_reference, self.version, ref.to_json(), ref.recorded_at
                    )
            return
        self.window.append(obs)

    # -- reporting --------------------------------------------------------------------
    def forget_section(self) -> None:
        """Drop the computed section: the next `section()` computes it afresh (a benchmark
        timing the computation)."""
        self._cache = None

    def section(self) -> DriftSection:
        """The `drift` section."""
        if self._cache is None:
            self._cache = self._compute()
        if self.retrain is None:
            return self._cache
        return dataclasses.replace(self._cache, retrain=self.retrain.section())

    def _compute(self) -> DriftSection:
        ref = self.reference
        window = list(self.window)
        scores: dict[str, float | None] = dict.fromkeys(FEATURES)
        if ref is not None and ref.complete and len(window) >= self.config.drift_min_samples:
            for feature in FEATURES:
                current = Counter(o.bins[feature] for o in window)
                scores[feature] = psi(ref.histograms[feature], current)
        known = [v for v in scores.values() if v is not None]
        psi_max = max(known) if known else None
        conf_now = _mean([o.confidence for o in window if o.confidence is not None])
        conf_ref = ref.confidence_mean if ref is not None and ref.complete else None
        drop = None
        if conf_ref is not None and conf_now is not None:
            drop = round(conf_ref - conf_now, 4)
        # "none": nothing recorded yet; "recording": the first window is filling up.
        reference = DriftReference(ReferenceSource.NONE, 0, self.config.drift_reference_size, None)
        if ref is not None:
            reference = DriftReference(
                source=_source(ref.source) if ref.complete else ReferenceSource.RECORDING,
                samples=ref.samples,
                size=ref.size if not ref.complete else ref.samples,
                recorded_at=ref.recorded_at,
            )
        return DriftSection(
            version=self.version,
            psi_max=psi_max,
            psi=PsiScores(**scores),
            band=band(psi_max),
            reference=reference,
            window_samples=len(window),
            window_size=self.config.drift_window,
            min_samples=self.config.drift_min_samples,
            confidence_mean=conf_now,
            confidence_reference=conf_ref,
            confidence_drop=drop,
        )


def _source(value: str) -> ReferenceSource | str:
    """The reference's source as its enum; a stored one this version does not know as is."""
    try:
        return ReferenceSource(value)
    except ValueError:
        return value
