"""The retraining trigger on the device: the drift part keeps the llm agent's recent inputs;
a firing drift (or confidence) alert queues them in the outbox as class `retrain` only when
`[retrain] share_inputs` opts in; the ring, the per-day cap and the message size bound hold;
the rows are sealed at rest like any other."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edgetui.config import (
    AlertRuleConfig,
    Config,
    ConfigError,
    RetrainConfig,
    StoreConfig,
    parse_config,
)
from edgetui.models.alerts import AlertsSection
from edgetui.runtime import Runtime
from edgetui.store import KINDS, TOPIC_SUFFIX, Outbox
from edgetui.validation import RetrainSampler
from edgetui.validation.retrain import MESSAGE_BYTES, TEXT_MAX

VISITORS = ["courier at door0 09:00-12:00"]
SAMPLE_KEYS = {"id", "at", "model_version", "event_type", "data", "context", "decision"}
CONTEXT_KEYS = {
    "hour",
    "time_of_day",
    "expected_visitors",
    "recent_events",
    "sound_alert_db",
    "temperature_alert_c",
}


async def wait_for(cond: Any, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.02)


def device_config(config: Config, tiny_model: Path, *, share: bool) -> Config:
    """The llm agent on the tiny model, drift after three decisions, and the built-in
    drift_high rule firing as soon as PSI exists (any PSI >= 0)."""
    config.agents.enabled = ["llm"]
    config.agents.settings = {"llm": {"expected_visitors": VISITORS}}
    config.inference.model_path = str(tiny_model)
    config.inference.timeout_s = 120.0
    v = config.validation
    v.drift_reference_size, v.drift_window, v.drift_min_samples = 3, 3, 3
    config.alerts.enabled = True
    config.alerts.rules = [AlertRuleConfig(name="drift_high", warning=0.0, for_s=0.0)]
    config.retrain = RetrainConfig(share_inputs=share, max_samples=4)
    return config


async def run_device(rt: Runtime, decisions: int) -> dict[str, Any]:
    """`decisions` motion events through the llm agent, then one tick (the alerts judge the
    drift section); returns the alerts section."""
    assert rt.drift is not None
    for i in range(decisions):
        data = {"location": f"door{i % 2}"}
        await rt.call("bus.publish", {"type": "MOTION_DETECTED", "data": data})
        await wait_for(lambda n=i + 1: rt.drift.observed >= n)
    await rt._tick()
    snap = await rt.status()
    return snap.sections["alerts"]


def firing(alerts: AlertsSection) -> set[str]:
    return {a.name for a in alerts.alerts if a.state == "firing"}


async def test_a_firing_drift_alert_sends_the_recent_inputs(
    config: Config, state_dir: Path, tiny_model: Path
) -> None:
    rt = Runtime(device_config(config, tiny_model, share=True), state_dir)
    await rt.start()
    try:
        assert rt.store is not None and rt.drift is not None
        alerts = await run_device(rt, 6)
        assert "drift_high" in firing(alerts)
        await wait_for(lambda: rt.store.stats.by_class.get("retrain") == 1)
        rows = [r for r in await rt.store.fetch(1000) if r.kind == "retrain"]
        await rt._tick()  # still firing: no new transition, nothing more is sent
        retrain = rt.drift.section().retrain
        assert rt.store.stats.by_class["retrain"] == 1
    finally:
        await rt.stop()
    assert KINDS[-1] == "retrain" and TOPIC_SUFFIX["retrain"] == "retrain"
    assert len(rows) == 1 and rows[0].prio == len(KINDS) - 1  # the lowest class
    message = json.loads(rows[0].wire)
    assert set(message) == {"id", "seq", "device_id", "alert", "alert_key", "fired_at", "samples"}
    assert message["device_id"] == "test-device" and message["alert"] == "drift_high"
    samples = message["samples"]
    assert len(samples) == 4  # the ring holds max_samples: the last 4 of 6 decisions
    assert len({s["id"] for s in samples}) == 4
    for i, s in enumerate(samples):
        assert set(s) == SAMPLE_KEYS
        assert s["event_type"] == "MOTION_DETECTED"
        assert s["data"] == {"location": f"door{i % 2}"}
        assert set(s["context"]) <= CONTEXT_KEYS and 0 <= s["context"]["hour"] <= 23
        assert s["context"]["expected_visitors"] == VISITORS
        assert set(s["decision"]) == {"action", "message", "source", "confidence"}
        assert s["decision"]["source"] == "model" and s["model_version"].startswith("sha256:")
    assert retrain.sent == 4 and retrain.sent_today == 4
    assert retrain.last.alert == "drift_high"
    # Sealed at rest (`[store] encrypt` is on by default): no clear text in the file.
    db = state_dir / "edgetui.db"
    with sqlite3.connect(db) as conn:
        kinds = conn.execute("SELECT typeof(payload) FROM outbox WHERE kind = 'retrain'").fetchall()
    conn.close()
    assert kinds == [("blob",)]
    for path in (db, db.with_name("edgetui.db-wal")):
        if path.exists():
            assert b"courier" not in path.read_bytes()
    day = json.loads((state_dir / "validation" / "retrain.json").read_text())
    assert day["sent"] == 4


async def test_without_opt_in_nothing_leaves(
    config: Config, state_dir: Path, tiny_model: Path
) -> None:
    rt = Runtime(device_config(config, tiny_model, share=False), state_dir)
    await rt.start()
    try:
        assert rt.store is not None and rt.drift is not None
        alerts = await run_device(rt, 6)
        assert "drift_high" in firing(alerts)
        await asyncio.sleep(0.3)  # a share task would have run by now
        retrain = rt.drift.section().retrain
        assert rt.store.stats.by_class.get("retrain") == 0
    finally:
        await rt.stop()
    assert retrain.share_inputs is False and retrain.kept == 4 and retrain.sent == 0
    assert not (state_dir / "validation" / "retrain.json").exists()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def observe(sampler: RetrainSampler, n: int, *, text: str = "") -> None:
    for i in range(n):
        data = {"db": 85.0 + i, "location": "garage", "note": text, "nested": {"secret": "x"}}
        context = {
            "hour": 23,
            "time_of_day": "23:10 (night)",
            "expected_visitors": [],
            "recent_events": [],
            "api_token": "not-for-the-fleet",
        }
        decision = {
            "action": "SPEAK_WARNING",
            "message": "Loud noise",
            "source": "model",
            "confidence": 0.4,
            "reason": "model failed: /var/lib/edgetui/secret.gguf",
            "raw": "...",
            "at": "2026-11-27T23:10:00.000Z",
        }
        sampler.observe("SOUND_LEVEL", data, context, decision, "1.0.0")


async def fire(sampler: RetrainSampler, name: str) -> None:
    sampler.alert_changed(name, "firing", name)
    await asyncio.gather(*sampler._tasks)


async def samples_in(outbox: Outbox) -> list[dict[str, Any]]:
    rows = [r for r in await outbox.fetch(10_000) if r.kind == "retrain"]
    return [s for r in rows for s in json.loads(r.wire)["samples"]]


async def test_the_ring_the_daily_cap_and_the_rules(tmp_path: Path) -> None:
    outbox = Outbox(StoreConfig(encrypt=False), tmp_path / "outbox.db")
    await outbox.start()
    clock = Clock(1_800_000_000.0)  # 2027-01-15 08:00 UTC
    cfg = RetrainConfig(share_inputs=True, max_samples=5, max_per_day=7)
    try:
        s = RetrainSampler(cfg, tmp_path, device_id="d1", outbox=lambda: outbox, clock=clock)
        observe(s, 10)
        assert len(s.ring) == 5
        s.alert_changed("drift_high", "pending")  # only firing counts
        s.alert_changed("cpu_high", "firing")  # not one of [retrain] rules
        s.alert_changed("drift_high", "firing", drill=True)  # a fire drill sends nothing
        assert not s._tasks
        await fire(s, "drift_high")
        assert len(await samples_in(outbox)) == 5
        await fire(s, "confidence_drop")  # every sample in the ring went already
        assert len(await samples_in(outbox)) == 5
        observe(s, 5)
        await fire(s, "confidence_drop")  # 5 new, room for 2 today
        sent = await samples_in(outbox)
        assert len(sent) == 7 and len({x["id"] for x in sent}) == 7
        assert s.section().held_back == 3
        # What left: the documented fields only; no reason, raw text, nested data, or
        # context keys the prompt does not read.
        x = sent[-1]
        assert set(x) == SAMPLE_KEYS and x["data"] == {"db": 89.0, "location": "garage", "note": ""}
        assert set(x["context"]) == {"hour", "time_of_day", "expected_visitors", "recent_events"}
        assert x["decision"] == {
            "action": "SPEAK_WARNING",
            "message": "Loud noise",
            "source": "model",
            "confidence": 0.4,
        }
        # A restart the same day: the cap still holds (kept in <state>/validation).
        s2 = RetrainSampler(cfg, tmp_path, device_id="d1", outbox=lambda: outbox, clock=clock)
        observe(s2, 3)
        await fire(s2, "drift_high")
        assert len(await samples_in(outbox)) == 7
        clock.t += 86400.0  # the next UTC day
        await fire(s2, "drift_high")
        assert len(await samples_in(outbox)) == 10
    finally:
        await outbox.stop()


async def test_large_samples_are_cut_into_bounded_messages(tmp_path: Path) -> None:
    outbox = Outbox(StoreConfig(encrypt=False), tmp_path / "outbox.db")
    await outbox.start()
    try:
        cfg = RetrainConfig(share_inputs=True, max_samples=200)
        s = RetrainSampler(cfg, tmp_path, device_id="d1", outbox=lambda: outbox)
        observe(s, 200, text="x" * 5000)
        await fire(s, "drift_high")
        rows = [r for r in await outbox.fetch(10_000) if r.kind == "retrain"]
    finally:
        await outbox.stop()
    assert len(rows) > 1
    assert all(len(r.wire) <= MESSAGE_BYTES + 1024 for r in rows)
    samples = [x for r in rows for x in json.loads(r.wire)["samples"]]
    assert len(samples) == 200 and all(len(x["data"]["note"]) == TEXT_MAX for x in samples)


def test_retrain_config_is_off_by_default_and_checked() -> None:
    assert parse_config({}).retrain == RetrainConfig(share_inputs=False)
    cfg = parse_config({"retrain": {"share_inputs": True, "max_samples": 50, "rules": ["x"]}})
    assert (cfg.retrain.share_inputs, cfg.retrain.max_samples, cfg.retrain.rules) == (
        True,
        50,
        ["x"],
    )
    for table, why in (
        ({"max_samples": 0}, "max_samples: expected an integer of 1 or more"),
        ({"max_per_day": -1}, "max_per_day: expected 0 or more"),
        ({"share_inputs": "yes"}, "share_inputs: expected true or false"),
    ):
        with pytest.raises(ConfigError, match=why):
            parse_config({"retrain": table}, "c.toml")
