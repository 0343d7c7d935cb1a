"""How the runtime builds the two parts of this package from what it holds: the inference
engine (whose completions feed the baselines and whose section gains `baseline` and
`p95_ratio`), the agents' rows, the bus, and whether the booted slot is committed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgetui.config import RetrainConfig, ValidationConfig
from edgetui.models.agents import AgentRow
from edgetui.validation.drift import DriftHooks, DriftService
from edgetui.validation.retrain import RetrainSampler
from edgetui.validation.service import ValidationHooks, ValidationService, model_version


def build_validation(
    config: ValidationConfig,
    state_dir: Path,
    *,
    engine: Any,
    agents: Callable[[], list[AgentRow] | None],
    enabled_agents: list[str],
    committed: Callable[[], bool],
) -> ValidationService | None:
    """The "validation" part (None when disabled), hooked onto `engine` when there is one."""
    if not config.enabled:
        return None
    hooks = ValidationHooks(
        inference=lambda: engine,
        agents=agents,
        enabled_agents=list(enabled_agents),
        committed=committed,
    )
    service = ValidationService(config, state_dir, hooks)
    if engine is not None:
        engine.listeners.append(service.observe)
        engine.extras.append(service.inference_extras)
    return service


def build_drift(
    config: ValidationConfig,
    state_dir: Path,
    *,
    bus: Any,
    engine: Any,
    validation: ValidationService | None,
    committed: Callable[[], bool],
    retrain: RetrainConfig | None = None,
    device_id: str = "",
    outbox: Callable[[], Any] = lambda: None,
) -> DriftService | None:
    """The "drift" part (None when disabled or without a bus), fed by a bus subscription.
    With `retrain`, it keeps the recent decision inputs for the retraining trigger, queued
    into `outbox()` (the running outbox, or None) when an alert fires and the owner opted in."""
    if not config.enabled or bus is None:
        return None
    sampler = None
    if retrain is not None:
        sampler = RetrainSampler(retrain, state_dir, device_id=device_id, outbox=outbox)
    return DriftService(
        config,
        state_dir,
        db=lambda: validation.database() if validation is not None else None,
        hooks=DriftHooks(
            subscribe=lambda types: bus.subscribe(types, name="drift"),
            model_version=lambda: model_version(engine),
            committed=committed,
        ),
        retrain=sampler,
    )
