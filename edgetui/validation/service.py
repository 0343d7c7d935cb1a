"""ValidationService ("validation"): `edgetui validate` (methods validate.run, validate.last),
the OTA before/after runs handed to the health check, and per-version baselines.

The runtime hands it what it measures (the inference engine, the agents' rows, whether the
booted slot is committed); it imports no other part's internals. The last report is kept in
`<state>/validation/last.json` (durable write) and is the `validation` section, absent until
a validation has run. Baselines go to the validation database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgetui.cancel import cancel_and_wait
from edgetui.config import ValidationConfig
from edgetui.durable import atomic_write
from edgetui.models.agents import AgentRow
from edgetui.models.clock import rfc3339
from edgetui.models.decision import Completion
from edgetui.models.inference_section import InferenceSection
from edgetui.models.serde import from_dict, to_dict
from edgetui.models.slot import SlotContent
from edgetui.models.validation import Baseline, ValidationReport
from edgetui.validation.baseline import BaselineRecorder, process_usage
from edgetui.validation.db import ValidationDB
from edgetui.validation.suite import (
    check_agents,
    check_golden,
    check_latency,
    check_model,
    make_report,
)

log = logging.getLogger(__name__)
TICK_S = 1.0  # how often the baseline window is looked at


@dataclass
class ValidationHooks:
    """What the runtime lends the validation part (parts never import each other)."""

    inference: Callable[[], Any] = lambda: None
    agents: Callable[[], list[AgentRow] | None] = lambda: None
    enabled_agents: list[str] = field(default_factory=list)
    committed: Callable[[], bool] = lambda: True  # the booted slot is good (not on trial)


def model_version(engine: Any) -> str | None:
    """The version a baseline is kept under: the slot's version, else the model's sha256."""
    if engine is None or not getattr(engine, "available", False):
        return None
    if engine.version:
        return str(engine.version)
    sha = getattr(engine, "sha256", None)
    return f"sha256:{sha[:12]}" if sha else None


class ValidationService:
    """Service "validation"."""

    name = "validation"

    def __init__(
        self,
        config: ValidationConfig,
        state_dir: Path,
        hooks: ValidationHooks,
        *,
        db: ValidationDB | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.hooks = hooks
        self.report_path = self.state_dir / "validation" / "last.json"
        self._db = db
        self._own_db = db is None
        self._clock = clock
        self.last: ValidationReport | None = None
        self.baseline: Baseline | None = None
        self._baseline_for: str | None = None  # the version self.baseline was looked up for
        self.recorder: BaselineRecorder | None = None
        self._finishing = False
        self._run_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def database(self) -> ValidationDB | None:
        """The open validation database (None before start and after stop)."""
        return self._db

    @property
    def db(self) -> ValidationDB:
        assert self._db is not None, "validation service not started"
        return self._db

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        if self._db is None:
            self._db = await asyncio.to_thread(ValidationDB, self._db_path())
        self.last = await asyncio.to_thread(self._load_last)
        self._task = asyncio.create_task(self._loop(), name="validation-baseline")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._own_db and self._db is not None:
            await asyncio.to_thread(self._db.close)
            self._db = None

    def _db_path(self) -> Path:
        return Path(self.config.db_path or self.state_dir / "validation.db").expanduser()

    def _load_last(self) -> ValidationReport | None:
        try:
            data = json.loads(self.report_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("validation: last report unreadable, ignored: %s", exc)
            return None
        return from_dict(ValidationReport, data) if isinstance(data, dict) else None

    def _save_last(self, report: ValidationReport) -> None:
        body = json.dumps(to_dict(report), indent=1).encode("utf-8")
        atomic_write(self.report_path, body)

    # -- baselines ----------------------------------------------------------------------
    def observe(self, done: Completion) -> None:
        """A completed inference request (the engine's listener)."""
        # The suite's own golden requests are not live traffic: they stay out of baselines.
        if self.recorder is not None and not self._run_lock.locked():
            self.recorder.observe(done)

    async def _loop(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                log.exception("validation: baseline step failed")
            await asyncio.sleep(TICK_S)

    async def step(self) -> None:
        """Start, follow or finish the baseline window of the running model version."""
        version = model_version(self.hooks.inference())
        if version != self._baseline_for:
            self.recorder = None
            self._baseline_for = version
            self.baseline = await asyncio.to_thread(self.db.baseline, version) if version else None
        if version is None or self.baseline is not None or not self.hooks.committed():
            self.recorder = None  # a trial slot's figures are not its baseline
            return
        now = self._clock()
        if self.recorder is None:
            usage = await asyncio.to_thread(process_usage)
            self.recorder = BaselineRecorder(
                version=version,
                started=now,
                usage=usage,
                window_s=self.config.baseline_window_s,
                requests=self.config.baseline_requests,
                min_samples=self.config.baseline_min_samples,
            )
            log.info("validation: measuring the baseline of %s", version)
            return
        if self.recorder.ready(now):
            recorder = self.recorder
            usage = await asyncio.to_thread(process_usage)
            baseline = recorder.finish(self._clock(), usage, rfc3339())
            await asyncio.to_thread(self.db.save_baseline, baseline)
            if self.recorder is recorder:
                self.baseline, self.recorder = baseline, None
            log.info(
                "validation: baseline of %s: p95 %.1f ms over %d requests",
                version,
                baseline.p95_ms or 0.0,
                baseline.samples,
            )

    def inference_extras(self, section: InferenceSection) -> dict[str, Any]:
        """`baseline`, `p95_ratio` and `baseline_recording` for the inference section."""
        b = self.baseline
        p95 = section.p95_ms
        ratio = round(p95 / b.p95_ms, 3) if b and b.p95_ms and p95 is not None else None
        rec = self.recorder
        return {
            "baseline": b,
            "p95_ratio": ratio,
            "baseline_recording": rec.progress(self._clock()) if rec else None,
        }

    # -- validation runs ----------------------------------------------------------------
    def _golden_path(self, slot_dir: Path | None) -> Path | None:
        if slot_dir is not None:
            try:
                slot = SlotContent.load(slot_dir)
            except ValueError:
                slot = None
            if slot is not None and slot.golden is not None:
                return slot.golden
        if self.config.golden_path:
            return Path(self.config.golden_path).expanduser()
        return None

    async def run(self, phase: str = "manual", slot_dir: Path | None = None) -> ValidationReport:
        """Run the suite now and store the report. `phase` "before"/"after" (OTA) run on
        `slot_dir`'s golden prompts and skip the agents check (the health check has its own)."""
        async with self._run_lock:
            started = time.perf_counter()
            engine = self.hooks.inference()
            version = model_version(engine)
            current = self.state_dir / "slots" / "current"
            golden_path = self._golden_path(slot_dir or (current if current.exists() else None))
            golden_check, golden = await check_golden(engine, golden_path)
            baseline = self.baseline if version and version == self._baseline_for else None
            if baseline is None and version:
                baseline = await asyncio.to_thread(self.db.baseline, version)
            latency_check, latency = check_latency(
                golden.p95_ms, baseline, self.config.latency_ratio_max
            )
            checks = [golden_check, latency_check]
            if phase == "manual":
                checks.append(
                    await check_agents(
                        self.hooks.agents, self.hooks.enabled_agents, self.config.agents_wait_s
                    )
                )
                checks.append(await check_model(engine))
            report = make_report(phase, version, checks, golden, latency, started)
            self.last = report
            try:
                await asyncio.to_thread(self._save_last, report)
            except OSError as exc:
                log.error("validation: could not store the report: %s", exc)
            return report

    async def validate_slot(self, slot_dir: Path, phase: str) -> dict[str, Any]:
        """The OTA hook: the suite on `slot_dir` ("before" or "after"), as plain JSON."""
        return to_dict(await self.run(phase, slot_dir))

    # -- reporting --------------------------------------------------------------------
    def section(self) -> ValidationReport | None:
        """The `validation` section: the last report (absent until one has run)."""
        return self.last

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        async def run(_: dict[str, Any]) -> dict[str, Any]:
            return to_dict(await self.run("manual"))

        async def last(_: dict[str, Any]) -> dict[str, Any] | None:
            return to_dict(self.section())

        return {"validate.run": run, "validate.last": last}
