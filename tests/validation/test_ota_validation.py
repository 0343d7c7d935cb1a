"""The validation suite before an update (running slot) and after it (trial slot, in the
health check): shown as before/after in `ota status`, and a golden accuracy under the slot's
bar rolls the update back with the accuracy in the reason."""

from __future__ import annotations

from edgetui.models.decision import ACTIONS
from tests.ota.test_service import running, wait_booted, wait_phase
from tests.support.cli import run_cli
from tests.support.ota import OtaDevice

MOTION = {"type": "MOTION_DETECTED", "data": {"location": "front_door"}}


def greedy(dev: OtaDevice, **ota: object):
    cfg = dev.config(**ota)
    cfg.inference.temperature = 0.0  # the same prompt, the same action: exact counts
    cfg.inference.timeout_s = 120.0
    return cfg


async def test_before_and_after_in_ota_status(ota_device: OtaDevice) -> None:
    async with running(ota_device, greedy(ota_device)) as (rt, notes):
        await rt.call("ota.apply")
        await wait_phase(notes, "done")
        st = await rt.call("ota.status")
        validation = await rt.call("validate.last")
    v = st["validation"]
    assert v["from_version"] == "1.0.0" and v["to_version"] == "1.1.0"
    assert v["before"]["phase"] == "before" and v["before"]["version"] == "1.0.0"
    assert v["after"]["phase"] == "after" and v["after"]["version"] == "1.1.0"
    assert v["before"]["golden"] == {"passed": 1, "total": 1, "bar": "1/1"}
    p95_before = round(v["before"]["latency"]["p95_ms"])
    p95_after = round(v["after"]["latency"]["p95_ms"])
    assert v["summary"] == f"golden 1/1 -> 1/1, p95 {p95_before} -> {p95_after} ms"
    golden = next(c for c in st["health"]["checks"] if c["name"] == "golden")
    assert golden["ok"] is True and golden["detail"] == "golden 1/1 passed"
    assert validation["phase"] == "after" and validation["golden_ok"] is True
    # `ota status` (text) shows the comparison too.
    proc = run_cli(
        "--state-dir",
        str(ota_device.state_dir),
        "--config",
        str(ota_device.write_config()),
        "ota",
        "status",
    )
    assert proc.returncode == 0, proc.stderr
    assert v["summary"] in proc.stdout


async def test_golden_under_the_bar_rolls_back_naming_the_accuracy(
    ota_device: OtaDevice,
) -> None:
    # The same prompt three times, one expected action each: a greedy model gets one right.
    golden = {"pass_bar": "3/3", "cases": [{"event": MOTION, "expected": a} for a in ACTIONS]}
    ota_device.publish("1.2.0", seed=2, golden=golden)
    async with running(ota_device, greedy(ota_device)) as (rt, notes):
        await rt.call("ota.apply")
        note = await wait_phase(notes, "rolled_back", "done")
        await wait_booted(rt, "a")
        st = await rt.call("ota.status")
    assert note["phase"] == "rolled_back"
    assert "golden 1/3 < 3/3" in note["message"]
    assert "golden 1/3 < 3/3" in st["last_rollback_reason"]
    assert st["slots"]["b"]["status"] == "bad"
    assert st["validation"]["summary"] == (
        f"golden 1/1 -> 1/3, p95 {round(st['validation']['before']['latency']['p95_ms'])} -> "
        f"{round(st['validation']['after']['latency']['p95_ms'])} ms"
    )
