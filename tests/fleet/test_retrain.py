"""The retraining trigger, fleet half: `devices/<id>/retrain` messages parsed (malformed ones
one line each), kept once per (device, sample id) on both engines, ingested over a real
broker, and `fleet retrain-set` writing a dataset the model kit's loader and trainer take;
and end to end, from a real device runtime through mosquitto."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edgetui.fleet.messages import MessageError, parse
from edgetui.fleet.records import iso
from edgetui.fleet.store import FleetStore, open_store
from edgetui.modelkit import read_jsonl
from edgetui.models.decision import fallback_decision
from tests.fleet.helpers import ingesting, until
from tests.fleet.payloads import T0, updates
from tests.fleet.test_ingest import publish
from tests.support.cli import run_cli
from tests.support.mosquitto import Broker

CASE_KEYS = {"event_type", "data", "context", "expected", "rule", "prompt", "field"}


def sample(sid: str, event_type: str = "MOTION_DETECTED", hour: int = 23, **data: Any) -> dict:
    """One sample as `edgetui.validation.RetrainSampler` sends it."""
    return {
        "id": sid,
        "at": iso(T0),
        "model_version": "1.0.0",
        "event_type": event_type,
        "data": data or {"location": "garage"},
        "context": {
            "hour": hour,
            "time_of_day": f"{hour:02d}:10 (night)",
            "expected_visitors": [],
            "recent_events": [],
        },
        "decision": {"action": "NOTIFY", "message": "Motion", "source": "model", "confidence": 0.4},
    }


def retrain(dev: str, *samples: dict, alert: str = "drift_high") -> tuple[str, bytes]:
    body = {
        "id": "m",
        "seq": 7,
        "device_id": dev,
        "alert": alert,
        "alert_key": alert,
        "fired_at": iso(T0),
        "samples": list(samples),
    }
    return f"devices/{dev}/retrain", json.dumps(body).encode()


# -- messages ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"alert": "drift_high"}, "without `samples`"),
        ({"samples": []}, "without `samples`"),
        ({"samples": [1]}, "sample 0: expected an object"),
        ({"samples": [{**sample("s1"), "id": ""}]}, "sample 0: no `id`"),
        ({"samples": [{**sample("s1"), "event_type": None}]}, "s1: no `event_type`"),
        ({"samples": [{**sample("s1"), "data": [1]}]}, "must be objects"),
        ({"samples": [{**sample("s1"), "context": {"hour": 24}}]}, "context.hour"),
    ],
)
def test_malformed_retrain_messages_are_one_line(body: dict, why: str) -> None:
    with pytest.raises(MessageError, match=why) as exc:
        parse("devices/a/retrain", json.dumps(body).encode(), T0)
    assert "\n" not in str(exc.value) and str(exc.value).startswith("devices/a/retrain")


# -- the store, both engines ------------------------------------------------------------
def test_samples_are_kept_once_per_device_and_id(store: FleetStore) -> None:
    msg = retrain("cam-1", sample("s1"), sample("s2", "SOUND_LEVEL", db=91.0))
    store.apply(updates(msg, retrain("cam-2", sample("s1", hour=12))), now=T0)
    store.apply(updates(msg, received=T0 + 5), now=T0 + 5)  # a QoS 1 resend
    got = store.retrain_samples()
    assert [(s.device_id, s.sample_id) for s in got] == [
        ("cam-1", "s1"),
        ("cam-1", "s2"),
        ("cam-2", "s1"),
    ]
    s2 = got[1]
    assert (s2.event_type, s2.data, s2.alert, s2.model_version) == (
        "SOUND_LEVEL",
        {"db": 91.0},
        "drift_high",
        "1.0.0",
    )
    assert (s2.action, s2.source, s2.confidence, s2.at, s2.received) == (
        "NOTIFY",
        "model",
        0.4,
        T0,
        T0,
    )
    assert s2.context["hour"] == 23 and s2.context["expected_visitors"] == []
    assert [s.sample_id for s in store.retrain_samples(devices=["cam-2"])] == ["s1"]
    assert store.retrain_samples(since=T0 + 1) == []
    assert store.retrain_samples(version="2.0.0") == []
    d = store.device("cam-1")
    assert d is not None and d.last_seen == T0 + 5  # a retrain message is news of the device


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_version_2_store_steps_up_in_place(store_url: str, tmp_path: Path) -> None:
    open_store(store_url, tmp_path).close()
    with sqlite3.connect(store_url) as conn:  # as schema version 2 left it
        conn.execute("DROP TABLE retrain_samples")
        conn.execute("UPDATE fleet_meta SET value = '2' WHERE key = 'schema'")
    conn.close()
    store = open_store(store_url, tmp_path)
    try:
        store.apply(updates(retrain("cam-1", sample("s1"))), now=T0)
        assert len(store.retrain_samples()) == 1
    finally:
        store.close()
    with sqlite3.connect(store_url) as conn:
        assert conn.execute("SELECT value FROM fleet_meta WHERE key = 'schema'").fetchone() == (
            "3",
        )
    conn.close()


# -- ingest over a real broker, both engines --------------------------------------------
def test_retrain_messages_are_ingested(store: FleetStore, mosquitto: Broker) -> None:
    topic, payload = retrain("cam-7", sample("s1"), sample("s2", hour=3))
    with ingesting(store, mosquitto.url) as ing:
        publish(mosquitto, topic, payload)
        publish(mosquitto, topic, payload)  # sent again: the same rows
        publish(mosquitto, topic, b'{"alert": "drift_high", "samples": "all"}')
        until(lambda: ing.stats.rejected == 1, what="the malformed message")
        until(lambda: ing.stats.by_kind.get("retrain") == 2, what="both retrain messages")
        assert "without `samples`" in (ing.stats.last_rejected or "")
    assert [s.sample_id for s in store.retrain_samples()] == ["s1", "s2"]


# -- fleet retrain-set ------------------------------------------------------------------
def test_retrain_set_writes_a_dataset_model_train_reads(tmp_path: Path) -> None:
    db, out = tmp_path / "fleet.db", tmp_path / "set"
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(out))
    assert proc.returncode == 1 and "no retraining samples" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    store = open_store(str(db), tmp_path)
    samples = [sample(f"s{i}", "SOUND_LEVEL", hour=h, db=80.0 + i, location="garage")
               for i, h in enumerate((1, 9, 14, 23, 4, 16, 20, 11))]  # fmt: skip
    motion = [sample("m1", location="front_door"), sample("m2", hour=10, location="gate")]
    store.apply(
        updates(
            retrain("cam-1", *samples[:5], *motion),
            retrain("cam-2", *samples[5:], alert="confidence_drop"),
            retrain("cam-3", sample("m1", location="front_door")),  # the same input as cam-1's
        ),
        now=T0,
    )
    store.close()
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["samples"] == 11 and report["duplicates"] == 1
    assert report["train"] + report["val"] == 10 and report["val"] >= 1
    assert report["by_device"] == {"cam-1": 7, "cam-2": 3}
    assert report["by_event_type"] == {"MOTION_DETECTED": 2, "SOUND_LEVEL": 8}
    assert report["by_alert"] == {"confidence_drop": 3, "drift_high": 7}
    assert sum(report["by_rule"].values()) == 10
    train, val = read_jsonl(out / "train.jsonl"), read_jsonl(out / "val.jsonl")
    assert json.loads((out / "retrain.json").read_text()) == report
    for case in train + val:
        assert set(case) == CASE_KEYS
        # The label is the rule policy's on the same inputs: distillation on field data.
        rule = fallback_decision(case["event_type"], case["data"], case["context"], "t")
        assert case["expected"]["action"] == rule.action
        assert case["field"]["action"] == "NOTIFY" and case["field"]["confidence"] == 0.4
        assert case["field"]["agrees"] == (rule.action == "NOTIFY")
    assert report["disagreements"] == sum(1 for c in train + val if not c["field"]["agrees"])
    # The split is a function of each case: a second run writes the same files.
    before = (out / "train.jsonl").read_bytes(), (out / "val.jsonl").read_bytes()
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(out))
    assert proc.returncode == 1 and "--force" in proc.stderr  # DIR holds a dataset
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "edgetui model train --data" in proc.stdout
    assert ((out / "train.jsonl").read_bytes(), (out / "val.jsonl").read_bytes()) == before
    # Filters: a device, a model version, an age.
    only = tmp_path / "only"
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(only),
                   "--filter", "id=cam-2", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["by_device"] == {"cam-2": 3}
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(tmp_path / "x"),
                   "--version", "9.9", "--since", "7d")  # fmt: skip
    assert proc.returncode == 1 and "match the options (11 in the store)" in proc.stderr
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(tmp_path / "x"),
                   "--since", "yesterday")  # fmt: skip
    assert proc.returncode == 2 and "--since" in proc.stderr
    # `model train` reads it: a two-step run on the small architecture (JAX, the train extra).
    pytest.importorskip("jax")
    model = tmp_path / "field.gguf"
    proc = run_cli("model", "train", "--data", str(out), "--out", str(model), "--steps", "2",
                   "--batch", "4", "--arch", "small", "--json", timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.loads(proc.stdout)
    assert stats["steps"] == 2 and model.stat().st_size == stats["gguf_bytes"]


# -- end to end: a device runtime, the broker, the ingest, the CLI ------------------------
def test_a_device_drift_alert_reaches_the_retraining_set(
    mosquitto: Broker, tmp_path: Path, tiny_model: Path
) -> None:
    from edgetui.config import AlertRuleConfig, Config, RetrainConfig
    from edgetui.runtime import Runtime

    cfg = Config()
    cfg.device.id = "cam-e2e"
    cfg.telemetry.interval_s = 0.2
    cfg.uplink.url = mosquitto.url
    cfg.agents.enabled = ["llm"]
    cfg.agents.settings = {"llm": {"expected_visitors": ["courier at door0"]}}
    cfg.inference.model_path = str(tiny_model)
    cfg.inference.timeout_s = 120.0
    v = cfg.validation
    v.drift_reference_size, v.drift_window, v.drift_min_samples = 3, 3, 3
    cfg.alerts.rules = [AlertRuleConfig(name="drift_high", warning=0.0, for_s=0.0)]
    cfg.retrain = RetrainConfig(share_inputs=True, max_samples=5)
    state = tmp_path / "state"
    state.mkdir()

    async def device() -> None:
        rt = Runtime(cfg, state)
        await rt.start()
        try:
            assert rt.drift is not None and rt.store is not None
            for i in range(6):
                data = {"location": f"door{i % 2}"}
                await rt.call("bus.publish", {"type": "MOTION_DETECTED", "data": data})
                while rt.drift.observed < i + 1:
                    await asyncio.sleep(0.02)
            await rt._tick()
            for _ in range(1500):  # until the samples are queued and the uplink sent them
                queued = rt.drift.section().retrain.sent == 5
                if queued and rt.store.stats.by_class.get("retrain") == 0:
                    break
                await asyncio.sleep(0.02)
            assert rt.drift.section().retrain.sent == 5
        finally:
            await rt.stop()

    db = tmp_path / "fleet.db"
    store = open_store(str(db), tmp_path)
    try:
        with ingesting(store, mosquitto.url) as ing:
            asyncio.run(device())
            until(lambda: len(store.retrain_samples()) == 5, what="the device's 5 samples")
            assert ing.stats.rejected == 0
    finally:
        store.close()
    out = tmp_path / "set"
    proc = run_cli("fleet", "retrain-set", "--store", str(db), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    # Decisions in the same minute with the same recent events are the same prompt: one case.
    n = report["train"] + report["val"]
    assert report["samples"] == 5 and n + report["duplicates"] == 5 and n >= 2
    assert report["by_device"] == {"cam-e2e": n} and report["by_alert"] == {"drift_high": n}
    cases = read_jsonl(out / "train.jsonl") + read_jsonl(out / "val.jsonl")
    assert len(cases) == n
    for case in cases:
        assert case["event_type"] == "MOTION_DETECTED"
        assert case["context"]["expected_visitors"] == ["courier at door0"]
        if case["data"]["location"] == "door0":  # the visitor rule, from the device's context
            assert case["expected"] == {"action": "NOTIFY", "message": "Expected visitor at door0"}
        assert case["field"]["source"] == "model" and case["field"]["device_id"] == "cam-e2e"


def test_retrain_set_never_loads_jax(tmp_path: Path) -> None:
    """The fleet CLI labels with the model kit's teacher, not its trainer: no JAX loaded."""
    import subprocess
    import sys

    from tests.support.cli import ROOT, env

    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    store.apply(updates(retrain("cam-1", sample("s1"), sample("s2", hour=9))), now=T0)
    store.close()
    code = (
        "import sys; from edgetui.cli import main; "
        f"rc = main(['fleet', 'retrain-set', '--store', {str(tmp_path / 'fleet.db')!r}, "
        f"'--out', {str(tmp_path / 'out')!r}]); "
        "print(rc, sorted(m for m in ('jax', 'optax', 'llama_cpp') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env(), cwd=ROOT,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 []"
