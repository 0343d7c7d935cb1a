"""The alert state machine on synthetic snapshots: for_s, keep_firing_for_s, hysteresis,
severities, missing data, and what each transition produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.models.serde import to_dict
from tests.alerts.helpers import make_engine, snap

CPU = {"name": "cpu_high", "for_s": 10.0}


async def test_pending_then_firing_after_for_s_then_resolved(tmp_path: Path) -> None:
    engine, rec, clock = make_engine(tmp_path, [CPU])
    await engine.start()
    try:
        section = await engine.evaluate(snap(resources={"cpu_percent": 95.0}))
        assert [(a.name, a.state) for a in section.alerts] == [("cpu_high", "pending")]
        assert to_dict(section.counts) == {"critical": 0, "warning": 0} and section.pending == 1
        clock.advance(9.0)
        await engine.evaluate(snap(resources={"cpu_percent": 96.0}))
        assert engine.section().alerts[0].state == "pending"
        clock.advance(1.0)
        section = await engine.evaluate(snap(resources={"cpu_percent": 97.5}))
        (alert,) = section.alerts
        assert alert.state == "firing" and alert.severity == "warning"
        assert alert.value == 97.5 and section.counts.warning == 1
        assert set(to_dict(alert)) == {
            "name",
            "severity",
            "state",
            "since",
            "value",
            "summary",
            "labels",
            "acknowledged",
            "silenced_until",
            "runbook",
        }
        clock.advance(1.0)
        section = await engine.evaluate(snap(resources={"cpu_percent": 20.0}))
        assert section.alerts == []
        assert rec.types() == ["ALERT_PENDING", "ALERT_FIRING", "ALERT_RESOLVED"]
        # Uplink: what fired and resolved (pending stays on the device: bus and history).
        assert [(k, p["state"]) for k, p in rec.outbox] == [
            ("alert", "firing"),
            ("alert", "resolved"),
        ]
        fired = rec.outbox[0][1]
        assert fired["alertname"] == "cpu_high" and fired["state"] == "firing"
        assert fired["device_id"] == "dev" and fired["severity"] == "warning"
        history = await engine.history({})
        assert [h["state"] for h in history] == ["resolved", "firing", "pending"]
    finally:
        await engine.stop()


async def test_pending_that_clears_early_never_fires(tmp_path: Path) -> None:
    engine, rec, clock = make_engine(tmp_path, [CPU])
    await engine.start()
    try:
        await engine.evaluate(snap(resources={"cpu_percent": 95.0}))
        clock.advance(5.0)
        await engine.evaluate(snap(resources={"cpu_percent": 50.0}))
        clock.advance(20.0)
        await engine.evaluate(snap(resources={"cpu_percent": 50.0}))
        assert rec.types() == ["ALERT_PENDING"]
        assert [h["state"] for h in await engine.history({})] == ["inactive", "pending"]
        assert engine.section().alerts == []
    finally:
        await engine.stop()


async def test_hysteresis_clear_level_and_keep_firing_for(tmp_path: Path) -> None:
    rule = {"name": "cpu_high", "for_s": 0.0, "clear": 80.0, "keep_firing_for_s": 30.0}
    engine, rec, clock = make_engine(tmp_path, [rule])
    await engine.start()
    try:
        await engine.evaluate(snap(resources={"cpu_percent": 95.0}))
        assert rec.types() == ["ALERT_FIRING"]  # for_s 0: straight to firing
        clock.advance(1.0)
        await engine.evaluate(snap(resources={"cpu_percent": 85.0}))  # under 90, over 80
        clock.advance(100.0)
        await engine.evaluate(snap(resources={"cpu_percent": 85.0}))
        assert engine.section().alerts[0].state == "firing"
        clock.advance(1.0)
        await engine.evaluate(snap(resources={"cpu_percent": 70.0}))  # cleared: keep firing
        clock.advance(28.0)  # 29 s since it last held
        await engine.evaluate(snap(resources={"cpu_percent": 70.0}))
        assert engine.section().alerts[0].state == "firing"
        clock.advance(1.0)
        await engine.evaluate(snap(resources={"cpu_percent": 70.0}))
        assert engine.section().alerts == []
        assert rec.types() == ["ALERT_FIRING", "ALERT_RESOLVED"]
    finally:
        await engine.stop()


async def test_escalation_to_critical_is_announced_as_firing(tmp_path: Path) -> None:
    engine, rec, clock = make_engine(tmp_path)
    await engine.start()
    try:
        await engine.evaluate(snap(resources={"disk_free_gb": 8.0}))  # 8 %: warning
        clock.advance(60.0)
        await engine.evaluate(snap(resources={"disk_free_gb": 8.0}))
        clock.advance(1.0)
        section = await engine.evaluate(snap(resources={"disk_free_gb": 3.0}))  # 3 %
        assert section.alerts[0].severity == "critical"
        assert to_dict(section.counts) == {"critical": 1, "warning": 0}
        assert [(t, d["severity"]) for t, d in rec.events] == [
            ("ALERT_PENDING", "warning"),
            ("ALERT_FIRING", "warning"),
            ("ALERT_FIRING", "critical"),
        ]
    finally:
        await engine.stop()


async def test_missing_sections_keep_other_halfs_rules_inactive(tmp_path: Path) -> None:
    """inference.p95_ratio, validation.golden_ok and drift.* come from the validation half:
    absent, they never fire; present, they do."""
    rules = [{"name": n, "for_s": 0.0} for n in ("inference_slow", "drift_high", "confidence_drop")]
    engine, rec, clock = make_engine(tmp_path, rules)
    await engine.start()
    try:
        engine.check_paths(snap(inference={"p50_ms": 1.0}))  # leaf of a built-in: not checked
        await engine.evaluate(snap(inference={"p95_ms": 40.0, "p95_ratio": None}))
        assert rec.events == []
        section = await engine.evaluate(
            snap(
                inference={"p95_ratio": 1.8},
                validation={"ok": False, "golden_ok": False},
                drift={"psi_max": 0.25, "confidence_drop": 0.2},
            )
        )
        names = {(a.name, a.severity) for a in section.alerts}
        assert names == {
            ("inference_slow", "warning"),
            ("golden_failed", "critical"),
            ("drift_high", "warning"),
            ("confidence_drop", "warning"),
        }
        clock.advance(1.0)
        await engine.evaluate(snap())  # the sections went away: no data resolves them
        assert engine.section().alerts == []
    finally:
        await engine.stop()


def _agents(restarts: int, status: str = "running") -> list[dict[str, object]]:
    return [{"name": "sensor", "status": status, "restarts": restarts}]


async def test_agent_down_and_crashloop_over_a_window(tmp_path: Path) -> None:
    rules = [{"name": "agent_down", "for_s": 5.0}, {"name": "agent_crashloop", "window_s": 60.0}]
    engine, rec, clock = make_engine(tmp_path, rules)
    await engine.start()
    try:
        for restarts in (0, 1, 2):
            await engine.evaluate(snap(agents=_agents(restarts)))
            clock.advance(10.0)
        assert rec.events == []
        section = await engine.evaluate(snap(agents=_agents(3, "error")))
        by_name = {a.name: a for a in section.alerts}
        assert by_name["agent_crashloop"].state == "firing"
        assert by_name["agent_crashloop"].labels == {"agent": "sensor"}
        assert by_name["agent_down"].state == "pending"
        clock.advance(5.0)
        section = await engine.evaluate(snap(agents=_agents(3, "error")))
        assert {a.name: a.state for a in section.alerts}["agent_down"] == "firing"
        clock.advance(60.0)  # three restarts now older than the window; the agent is back
        section = await engine.evaluate(snap(agents=_agents(3)))
        assert section.alerts == []
    finally:
        await engine.stop()


async def test_uplink_buffer_inference_and_ota_checks(tmp_path: Path) -> None:
    rules = [{"name": "uplink_offline", "for_s": 0.0}, {"name": "inference_errors"}]
    engine, rec, clock = make_engine(tmp_path, rules)
    await engine.start()
    try:
        no_broker = {"state": "no_broker", "broker": None, "fill_percent": 0.0, "ttl_s": 100.0}
        await engine.evaluate(snap(buffer=no_broker, inference={"requests": 0, "errors": 0}))
        assert rec.events == []  # no broker configured: never "offline"
        clock.advance(1.0)
        buffer = {
            "state": "backoff",
            "broker": "127.0.0.1:1",
            "fill_percent": 85.0,
            "oldest_age_s": 60.0,
            "ttl_s": 100.0,
        }
        ota = {
            "last_rollback_reason": "health check failed",
            "history": [{"action": "rollback", "result": "ok", "to_version": "1.0.0"}],
        }
        await engine.evaluate(
            snap(buffer=buffer, inference={"requests": 10, "errors": 2, "timeouts": 1}, ota=ota)
        )
        names = {a.name for a in engine.section().alerts}
        assert names == {
            "uplink_offline",
            "buffer_full",
            "buffer_stale",
            "inference_errors",
            "ota_rolled_back",
        }
        inference = next(a for a in engine.section().alerts if a.name == "inference_errors")
        assert inference.value == 30.0  # 3 failed of 10 requests
        clock.advance(1.0)
        ota["history"].insert(0, {"action": "commit", "result": "ok"})
        await engine.evaluate(snap(buffer=buffer, ota=ota))
        assert "ota_rolled_back" not in {a.name for a in engine.section().alerts}
    finally:
        await engine.stop()


@pytest.mark.parametrize("value", [None, "n/a"])
async def test_no_data_never_fires(tmp_path: Path, value: object) -> None:
    engine, rec, _ = make_engine(tmp_path, [{"name": "temperature_high", "for_s": 0.0}])
    await engine.start()
    try:
        await engine.evaluate(snap(resources={"temperature_c": value}))
        assert rec.events == [] and engine.section().alerts == []
    finally:
        await engine.stop()


async def test_tick_jitter_does_not_cost_a_whole_tick(tmp_path: Path) -> None:
    """With a 1 s tick, a tick that runs a little early still fires at for_s."""
    from edgetui.alerts import AlertEngine
    from edgetui.config import AlertRuleConfig, AlertsConfig
    from tests.alerts.helpers import Clock

    clock = Clock()
    cfg = AlertsConfig(rules=[AlertRuleConfig(name="cpu_high", for_s=10.0)])
    engine = AlertEngine(cfg, tmp_path / "a.db", device_id="d", clock=clock, tick_s=1.0)
    await engine.start()
    try:
        hot = snap(resources={"cpu_percent": 95.0})
        await engine.evaluate(hot)
        clock.advance(9.4)  # more than half a tick short: still pending
        assert (await engine.evaluate(hot)).alerts[0].state == "pending"
        clock.advance(0.58)  # 9.98 s: the tick of the 10th second, 20 ms early
        assert (await engine.evaluate(hot)).alerts[0].state == "firing"
    finally:
        await engine.stop()
