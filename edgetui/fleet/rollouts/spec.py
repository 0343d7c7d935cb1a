"""`fleet rollout create`: check the options, read the release's version from its manifest,
resolve the target set from the devices the store has heard from, split it into cumulative
waves (Mender: the last wave takes the rest) and write the rollout with one execution per
device."""

from __future__ import annotations

import itertools
import json
import math
import secrets
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from edgetui.fleet.records import DeviceState
from edgetui.fleet.rollouts.records import Execution, RolloutRecord, RolloutSpec
from edgetui.fleet.rollouts.store import RolloutStore
from edgetui.units import parse_duration


class SpecError(ValueError):
    """A bad rollout option; the text is one line naming the option."""


def duration_option(option: str, text: str) -> float:
    """`option`'s value in seconds (`edgetui.units.parse_duration`; a bare number is
    seconds); SpecError naming the option."""
    try:
        return parse_duration(text, bare_seconds=True)
    except ValueError as exc:
        raise SpecError(f"{option}: {exc}") from None


def parse_waves(text: str) -> list[float]:
    """`1,10,50,100`: increasing cumulative percentages; a last wave below 100 still takes
    the rest (Mender), so 100 is appended when missing."""
    try:
        waves = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SpecError(f"--waves {text!r}: expected percentages such as 1,10,50,100") from None
    if not waves or any(not 0 < w <= 100 for w in waves):
        raise SpecError(f"--waves {text!r}: each wave is a percentage above 0, at most 100")
    if any(b <= a for a, b in itertools.pairwise(waves)):
        raise SpecError(f"--waves {text!r}: cumulative percentages must increase")
    if waves[-1] < 100:
        waves.append(100.0)
    return waves


def parse_target(items: list[str]) -> list[str]:
    """`type=camera` or device ids -> the stored form (`type:camera`, ids); none: all."""
    out = []
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if part.startswith("type="):
                if not part[5:]:
                    raise SpecError(f"--target {part!r}: expected type=TYPE")
                out.append("type:" + part[5:])
            else:
                out.append(part)
    return out or ["all"]


def read_manifest_version(url: str) -> str:
    """The `version` of the manifest at `url` (file:// or http(s)://)."""
    try:
        if url.startswith("file://"):
            data = Path(unquote(urlsplit(url).path)).read_bytes()
        elif url.startswith(("http://", "https://")):
            with urllib.request.urlopen(url, timeout=10) as resp:
                data = resp.read(1 << 20)
        else:
            raise SpecError(f"--manifest {url!r}: expected an http(s):// or file:// URL")
        doc = json.loads(data)
    except (OSError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"--manifest {url}: cannot read it: {exc}") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version:
        raise SpecError(f"--manifest {url}: no version in it")
    return version


def _number(option: str, value: float | int | str, kind: type[float] | type[int]) -> Any:
    """A number option given as text (the console's form) or already parsed (argparse)."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise SpecError(f"{option} {value!r}: expected {what}") from None


def spec_from_options(
    *,
    manifest: str,
    key: str,
    waves: str = "1,10,50,100",
    target: list[str] | None = None,
    success_threshold: float | str = 0.95,
    max_failure_rate: float | str = 0.05,
    min_executed: int | str = 10,
    health_window: str = "10m",
    timeout: str = "1h",
    retry_after: str = "60s",
    in_progress_timeout: str = "30m",
    auto_rollback: bool = False,
) -> RolloutSpec:
    """A spec from `fleet rollout create`'s options, shared by the CLI and the console's form
    so that both refuse the same things; SpecError names the bad option. Reads the manifest
    (blocking: the console calls it in a thread)."""
    return RolloutSpec(
        manifest_url=manifest,
        version=read_manifest_version(manifest),
        key=str(Path(key).expanduser().resolve()),
        waves=parse_waves(waves),
        target=parse_target(target or []),
        success_threshold=_number("--success-threshold", success_threshold, float),
        max_failure_rate=_number("--max-failure-rate", max_failure_rate, float),
        min_executed=_number("--min-executed", min_executed, int),
        health_window_s=duration_option("--health-window", health_window),
        timeout_s=duration_option("--timeout", timeout),
        retry_after_s=duration_option("--retry-after", retry_after),
        in_progress_timeout_s=duration_option("--in-progress-timeout", in_progress_timeout),
        auto_rollback=auto_rollback,
    )


def check_spec(spec: RolloutSpec) -> None:
    for name, value in (
        ("--success-threshold", spec.success_threshold),
        ("--max-failure-rate", spec.max_failure_rate),
    ):
        if not 0.0 <= value <= 1.0:
            raise SpecError(f"{name} {value}: expected a fraction between 0 and 1")
    if spec.min_executed < 1:
        raise SpecError(f"--min-executed {spec.min_executed}: expected at least 1")
    if not Path(spec.key).is_file():
        raise SpecError(f"--key {spec.key}: no such file")


def targeted(devices: list[DeviceState], target: list[str]) -> list[str]:
    """The ids of the devices `target` names, sorted (a stable wave order)."""
    ids = {t for t in target if t != "all" and not t.startswith("type:")}
    types = {t[5:] for t in target if t.startswith("type:")}
    every = "all" in target
    known = {d.device_id for d in devices}
    chosen = {d.device_id for d in devices if every or d.device_id in ids or d.device_type in types}
    # Ids named on the command line are targeted even when not heard from yet.
    chosen |= ids - known
    return sorted(chosen)


def assign_waves(device_ids: list[str], waves: list[float]) -> list[tuple[str, int]]:
    """(device id, wave index): wave k holds the devices up to ceil(N * waves[k] / 100)."""
    n = len(device_ids)
    out: list[tuple[str, int]] = []
    start = 0
    for k, pct in enumerate(waves):
        end = n if k == len(waves) - 1 else min(n, math.ceil(n * pct / 100.0))
        out += [(d, k) for d in device_ids[start:end]]
        start = max(start, end)
    return out


def create_rollout(
    store: RolloutStore, spec: RolloutSpec, *, now: float | None = None, rollout_id: str = ""
) -> RolloutRecord:
    """Write a new RUNNING rollout for `spec`; SpecError when no device is targeted."""
    check_spec(spec)
    now = time.time() if now is None else now
    ids = targeted(store.devices(), spec.target)
    if not ids:
        raise SpecError(f"--target {' '.join(spec.target)}: no device in the fleet store matches")
    rid = rollout_id or f"r{time.strftime('%Y%m%d%H%M%S', time.gmtime(now))}{secrets.token_hex(2)}"
    rollout = RolloutRecord(rid, spec, created_at=now, updated_at=now)
    execs = [Execution(rid, d, k) for d, k in assign_waves(ids, spec.waves)]
    store.create_rollout(rollout, execs)
    return rollout
