"""alerts.db: a firing alert survives a restart without firing twice; silences and
acknowledgements are kept; the startup check tells a typo from an absent part."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.api import APIError
from edgetui.config import ConfigError
from tests.alerts.helpers import make_engine, snap

RULE = {"name": "cpu_high", "for_s": 0.0}
HOT = {"cpu_percent": 99.0}


async def test_firing_alert_survives_a_restart_and_is_not_fired_twice(tmp_path: Path) -> None:
    engine, rec, clock = make_engine(tmp_path, [RULE])
    await engine.start()
    await engine.evaluate(snap(resources=HOT))
    await engine.ack({"name": "cpu_high"})
    await engine.stop()
    assert rec.types() == ["ALERT_FIRING"]

    again, rec2, _ = make_engine(tmp_path, [RULE], clock=clock)
    await again.start()
    try:
        (alert,) = again.section().alerts
        assert alert.state == "firing" and alert.acknowledged is True
        clock.advance(1.0)
        await again.evaluate(snap(resources=HOT))
        assert rec2.events == [] and rec2.outbox == []  # still firing, not fired again
        clock.advance(1.0)
        await again.evaluate(snap())
        assert rec2.types() == ["ALERT_RESOLVED"]
        assert [h["state"] for h in await again.history({})] == ["resolved", "firing"]
    finally:
        await again.stop()


async def test_silence_is_kept_and_keeps_alerts_off_the_uplink(tmp_path: Path) -> None:
    engine, rec, clock = make_engine(tmp_path, [RULE])
    await engine.start()
    listing = await engine.silence({"name": "cpu_high", "for_s": 3600, "comment": "known load"})
    assert listing["silences"][0]["name"] == "cpu_high"
    assert listing["silences"][0]["comment"] == "known load"
    await engine.stop()

    again, rec, _ = make_engine(tmp_path, [RULE], clock=clock)
    await again.start()
    try:
        section = await again.evaluate(snap(resources=HOT))
        (alert,) = section.alerts
        assert alert.state == "firing" and alert.silenced_until is not None
        assert section.counts.warning == 0  # silenced: not counted
        assert rec.types() == ["ALERT_FIRING"]  # still on the local bus...
        assert rec.events[0][1]["silenced"] is True
        assert rec.outbox == []  # ...but nobody uplink is paged
        clock.advance(3601.0)
        section = await again.evaluate(snap(resources=HOT))
        assert section.alerts[0].silenced_until is None and section.silences == []
        await again.silence({"name": "cpu_high", "for_s": 60})
        await again.unsilence({"name": "cpu_high"})
        assert again.section().silences == []
    finally:
        await again.stop()


async def test_bad_actions_are_one_line_errors(tmp_path: Path) -> None:
    engine, _, _ = make_engine(tmp_path, [RULE])
    await engine.start()
    try:
        with pytest.raises(APIError, match="silence: no alert rule named 'nope'"):
            await engine.silence({"name": "nope", "for_s": 60})
        with pytest.raises(APIError, match="for_s: expected seconds above 0"):
            await engine.silence({"name": "cpu_high", "for_s": -1})
        with pytest.raises(APIError, match="ack: alert 'cpu_high' is not pending or firing"):
            await engine.ack({"name": "cpu_high"})
        with pytest.raises(APIError, match="unsilence: no silence"):
            await engine.unsilence({"name": "cpu_high"})
    finally:
        await engine.stop()


async def test_a_removed_rule_resolves_its_restored_alert(tmp_path: Path) -> None:
    engine, _, clock = make_engine(
        tmp_path, [{"name": "mine", "metric": "resources.cpu_percent", "op": ">", "warning": 50.0}]
    )
    await engine.start()
    await engine.evaluate(snap(resources=HOT))
    await engine.stop()
    again, rec, _ = make_engine(tmp_path, [], clock=clock)
    await again.start()
    try:
        assert [(t, d["alertname"]) for t, d in rec.events] == [("ALERT_RESOLVED", "mine")]
        assert "mine" not in {a.name for a in again.section().alerts}
    finally:
        await again.stop()


def test_startup_check_tells_a_typo_from_an_absent_part(tmp_path: Path) -> None:
    def check(metric: str, snapshot: dict) -> None:
        rule = {"name": "mine", "metric": metric, "op": ">", "warning": 1.0}
        engine, _, _ = make_engine(tmp_path, [rule])
        engine.check_paths(snapshot)

    check("resources.cpu_percent", snap())
    check("inference.p95_ms", snap())  # inference not running: inactive, not an error
    check("drift.psi_max", snap())  # the validation half's section
    check("resources.cpu_per_core.1", snap())
    with pytest.raises(ConfigError, match=r"\[\[alerts.rules\]\] mine: metric: .*cpu_pecent"):
        check("resources.cpu_pecent", snap())
    with pytest.raises(ConfigError, match=r"mine: metric: 'inference\.p59_ms'"):
        check("inference.p59_ms", snap(inference={"p50_ms": 1.0}))
    with pytest.raises(ConfigError, match="no section 'resource'"):
        check("resource.cpu_percent", snap())
