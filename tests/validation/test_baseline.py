"""Per-version baselines: measured only once the slot is committed, over real requests, kept
in the validation database, and compared with now as `inference.p95_ratio`."""

from __future__ import annotations

from pathlib import Path

from edgetui.config import ValidationConfig
from edgetui.models.event import Event
from edgetui.validation import ValidationDB, ValidationHooks, ValidationService
from tests.inference.helpers import started_engine

CONTEXT = {"time_of_day": "12:00 (midday)", "hour": 12}


async def decide(engine, n: int) -> None:
    for i in range(n):
        ev = Event(type="MOTION_DETECTED", source="t", data={"location": f"door{i}"})
        assert (await engine.decide(ev, CONTEXT)).source == "model"


def service(engine, db: ValidationDB, state_dir: Path, committed: list[bool], **cfg):
    config = ValidationConfig(baseline_requests=4, baseline_min_samples=4, **cfg)
    hooks = ValidationHooks(inference=lambda: engine, committed=lambda: committed[0])
    svc = ValidationService(config, state_dir, hooks, db=db)
    engine.listeners.append(svc.observe)
    engine.extras.append(svc.inference_extras)
    return svc


async def test_baseline_after_commit_kept_per_version(
    state_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    engine = await started_engine(state_dir, model_path=str(tiny_model), timeout_s=120.0)
    db = ValidationDB(tmp_path / "v.db")
    committed = [False]
    try:
        svc = service(engine, db, state_dir, committed)
        await svc.step()
        await decide(engine, 4)  # a trial slot: not its baseline
        await svc.step()
        assert svc.recorder is None and svc.baseline is None
        section = engine.section()
        assert section.baseline is None and section.p95_ratio is None

        committed[0] = True
        await svc.step()  # the window opens
        assert engine.section().baseline_recording.samples == 0
        await decide(engine, 3)
        await svc.step()
        assert svc.baseline is None  # 3 of 4 requests: not yet
        assert engine.section().baseline_recording.samples == 3
        await decide(engine, 1)
        await svc.step()
        b = svc.baseline
        assert b is not None and b.samples == 4
        version = f"sha256:{engine.sha256[:12]}"
        assert b.version == version
        assert 0 < b.p50_ms <= b.p95_ms and b.ttft_ms is not None and b.tokens_per_s > 0
        assert b.cpu_percent is not None and b.cpu_percent >= 0 and b.rss_mb > 10
        section = engine.section()
        assert section.baseline.p95_ms == b.p95_ms
        assert section.baseline_recording is None
        assert section.p95_ratio == round(section.p95_ms / b.p95_ms, 3)
        assert db.baseline(version) == b

        # A restart finds it in the database and measures nothing again.
        again = service(engine, db, state_dir, committed)
        await again.step()
        assert again.baseline == b and again.recorder is None
    finally:
        await engine.stop()
        db.close()


async def test_validate_checks_latency_against_the_baseline(
    state_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    golden = tmp_path / "golden.json"
    golden.write_text('[{"event": {"type": "MOTION_DETECTED", "data": {}}}]')
    engine = await started_engine(state_dir, model_path=str(tiny_model), timeout_s=120.0)
    db = ValidationDB(tmp_path / "v.db")
    try:
        svc = service(engine, db, state_dir, [True], golden_path=str(golden))
        report = await svc.run()
        assert report.ok and report.golden.passed == 1 and report.golden.bar == "1/1"
        latency = next(c for c in report.checks if c.name == "latency")
        assert latency.ok is None and "no baseline" in latency.detail
        assert [c.name for c in report.checks] == ["golden", "latency", "agents", "model"]

        await svc.step()
        await svc.run()  # the suite's own requests are not counted in the window
        assert svc.recorder is not None and svc.recorder.samples == 0
        await decide(engine, 4)
        await svc.step()
        assert svc.baseline is not None
        svc.config.latency_ratio_max = 1e-6  # nothing is that fast: the latency check fails
        report = await svc.run()
        latency = next(c for c in report.checks if c.name == "latency")
        assert latency.ok is False and not report.ok and report.golden_ok is True
        assert report.latency.baseline_p95_ms == svc.baseline.p95_ms
        assert report.latency.ratio == round(report.latency.p95_ms / svc.baseline.p95_ms, 3)
        assert svc.section().ok is False  # the section is the last report
    finally:
        await engine.stop()
        db.close()


async def test_model_check_catches_a_file_changed_after_loading(
    state_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    import shutil

    from edgetui.validation.suite import check_model

    model = tmp_path / "copy.gguf"
    shutil.copy(tiny_model, model)
    engine = await started_engine(state_dir, model_path=str(model))
    try:
        assert (await check_model(engine)).ok is True
        data = bytearray(model.read_bytes())
        data[-1] ^= 0xFF  # one flipped byte
        model.write_bytes(bytes(data))
        check = await check_model(engine)
        assert check.ok is False and "does not match its checksum" in check.detail
        model.unlink()
        check = await check_model(engine)
        assert check.ok is False and "unreadable" in check.detail
    finally:
        await engine.stop()
