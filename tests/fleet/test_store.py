"""The fleet store, the same tests against SQLite and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetui.fleet.records import CommandRecord
from edgetui.fleet.rollouts.records import Execution, RolloutRecord, RolloutSpec
from edgetui.fleet.store import DownsamplePolicy, FleetStore, StoreError, open_store
from tests.fleet.payloads import T0, alert, result, status, telemetry, updates


def test_status_and_telemetry_make_the_device_row(store: FleetStore) -> None:
    store.apply(
        updates(status("cam-1", "online"), telemetry("cam-1", T0, cpu=42.0)),
        writer="f1",
        now=T0,
    )
    d = store.device("cam-1")
    assert d is not None
    assert (d.status, d.device_type, d.version, d.release) == ("online", "camera", "0.1.0", "1.0.0")
    assert (d.slot, d.slot_status, d.cpu_percent, d.inference_p95_ms) == (
        "a",
        "committed",
        42.0,
        40.0,
    )
    assert (d.buffer_queued, d.memory_percent, d.ingested_by) == (3, 50.0, "f1")
    assert d.last_seen == T0 and d.last_telemetry == T0
    store.apply(updates(status("cam-1", "offline"), received=T0 + 5), now=T0 + 5)
    d = store.device("cam-1")
    assert d is not None and d.status == "offline"
    assert d.last_seen == T0  # the last will is the broker's word, not the device's


def test_late_or_repeated_messages_never_overwrite_newer_state(store: FleetStore) -> None:
    store.apply(updates(telemetry("cam-1", T0 + 10, cpu=50.0)), now=T0)
    # buffered telemetry from before arrives later, and the newest one again (QoS 1 resend)
    store.apply(
        updates(telemetry("cam-1", T0, cpu=5.0), telemetry("cam-1", T0 + 10, cpu=50.0)),
        now=T0 + 1,
    )
    d = store.device("cam-1")
    assert d is not None and d.cpu_percent == 50.0 and d.last_telemetry == T0 + 10
    points = store.telemetry("cam-1")
    assert [(p.ts, p.cpu_percent) for p in points] == [(T0, 5.0), (T0 + 10, 50.0)]
    # an older status received earlier does not win over a newer one
    store.apply(updates(status("cam-1", "online"), received=T0 + 20), now=T0 + 20)
    store.apply(updates(status("cam-1", "offline"), received=T0 + 15), now=T0 + 21)
    assert store.device("cam-1").status == "online"  # type: ignore[union-attr]


def test_firing_alerts_are_counted_by_severity_until_resolved(store: FleetStore) -> None:
    store.apply(
        updates(
            alert("cam-1", "cpu_high", "pending", "warning", T0),
            alert("cam-1", "cpu_high", "firing", "warning", T0 + 1),
            alert("cam-1", "disk_free", "firing", "critical", T0 + 1),
            alert("cam-1", "agent_down", "firing", "critical", T0 + 1, agent="llm"),
            alert("cam-2", "cpu_high", "pending", "warning", T0),
        ),
        now=T0 + 2,
    )
    d1, d2 = store.device("cam-1"), store.device("cam-2")
    assert d1 is not None and (d1.alerts_critical, d1.alerts_warning) == (2, 1)
    assert d2 is not None and (d2.alerts_critical, d2.alerts_warning) == (0, 0)
    keys = [a.key for a in store.alerts("cam-1")]
    assert set(keys) == {"cpu_high", "disk_free", "agent_down{agent=llm}"}
    store.apply(updates(alert("cam-1", "disk_free", "resolved", "critical", T0 + 5)), now=T0 + 5)
    # a transition older than the stored one changes nothing
    store.apply(updates(alert("cam-1", "disk_free", "firing", "critical", T0 + 3)), now=T0 + 6)
    d1 = store.device("cam-1")
    assert d1 is not None and (d1.alerts_critical, d1.alerts_warning) == (1, 1)
    alerts = store.alerts("cam-1")
    assert [a.state for a in alerts] == ["firing", "firing", "resolved"]
    assert alerts[-1].key == "disk_free"
    assert store.summary().alerts == {"critical": 1, "warning": 1}


def test_command_results_keep_the_newest_state(store: FleetStore) -> None:
    store.record_command(
        CommandRecord("c1", "cam-1", "ota.apply", None, None, "r1", issued_at=T0, updated_at=T0)
    )
    store.apply(
        updates(
            result("cam-1", "c1", "IN_PROGRESS", T0 + 2),
            result("cam-1", "c1", "QUEUED", T0 + 1),
            result("cam-1", "c2", "REJECTED", T0 + 3, reason="expired", command="ota.check"),
        ),
        now=T0 + 3,
    )
    store.apply(updates(result("cam-1", "c1", "SUCCEEDED", T0 + 9)), now=T0 + 9)
    store.apply(updates(result("cam-1", "c1", "QUEUED", T0 + 1)), now=T0 + 10)  # a resend
    cmds = store.commands("cam-1")
    assert [(c.command_id, c.state, c.command) for c in cmds] == [
        ("c1", "SUCCEEDED", "ota.apply"),
        ("c2", "REJECTED", "ota.check"),
    ]
    assert cmds[0].rollout_id == "r1" and cmds[0].issued_at == T0
    assert cmds[1].detail == "expired"
    assert store.summary().commands == {"SUCCEEDED": 1, "REJECTED": 1}


def test_a_rollout_command_is_recorded_then_marked_and_replays_never_overwrite(
    store: FleetStore,
) -> None:
    from edgetui.fleet.rollouts.records import Execution

    sends = [
        (
            Execution("r1", dev, 0, "SENT", attempt=1, command_id=f"r1.{dev}.1", sent_at=T0),
            CommandRecord(f"r1.{dev}.1", dev, "ota.apply", rollout_id="r1", issued_at=T0),
        )
        for dev in ("cam-1", "cam-2", "cam-3")
    ]
    store.record_sends(sends)
    assert {s for s, _ in store.rollout_commands("r1").values()} == {"RECORDED"}
    # cam-1 answers before the runner marks it; the mark must not hide the answer.
    store.apply(updates(result("cam-1", "r1.cam-1.1", "QUEUED", T0 + 1)), now=T0 + 1)
    store.mark_published([("r1.cam-1.1", "cam-1"), ("r1.cam-2.1", "cam-2")])
    states = store.rollout_commands("r1")
    assert [states[f"r1.{d}.1"][0] for d in ("cam-1", "cam-2", "cam-3")] == [
        "QUEUED",
        "SENT",
        "RECORDED",  # never acknowledged: a runner publishes it again, same id
    ]
    # A second delivery of a command id is refused by the device as a replay, later than
    # its real result: the record keeps the real result.
    store.apply(updates(result("cam-1", "r1.cam-1.1", "SUCCEEDED", T0 + 5)), now=T0 + 5)
    store.apply(
        updates(result("cam-1", "r1.cam-1.1", "REJECTED", T0 + 6, reason="replayed")),
        now=T0 + 6,
    )
    store.apply(
        updates(result("cam-3", "r1.cam-3.1", "REJECTED", T0 + 6, reason="replayed")),
        now=T0 + 6,
    )
    # The same within one batch: the refusal is newer, the result still wins.
    store.apply(
        updates(
            result("cam-2", "r1.cam-2.1", "SUCCEEDED", T0 + 5),
            result("cam-2", "r1.cam-2.1", "REJECTED", T0 + 6, reason="replayed"),
        ),
        now=T0 + 6,
    )
    states = store.rollout_commands("r1")
    assert states["r1.cam-1.1"][0] == "SUCCEEDED"
    assert states["r1.cam-2.1"][0] == "SUCCEEDED"
    assert states["r1.cam-3.1"][0] == "RECORDED"
    # Only a command the fleet has no record of keeps the device's replay refusal.
    store.apply(updates(result("cam-2", "x.9", "REJECTED", T0 + 7, reason="replayed")), now=T0 + 7)
    assert ("x.9", "REJECTED") in [(c.command_id, c.state) for c in store.commands("cam-2")]


def test_telemetry_is_downsampled_with_age(store: FleetStore) -> None:
    now = T0 + 3 * 86400
    policy = DownsamplePolicy()
    old = now - 2 * 86400  # older than a day: ends in 10-minute buckets
    hour_ago = now - 2 * 3600  # older than an hour: 1-minute buckets
    base = old // 600 * 600
    msgs = [telemetry("cam-1", base + i * 10, cpu=float(i)) for i in range(6)]  # one bucket
    mid = hour_ago // 60 * 60
    msgs += [telemetry("cam-1", mid + i * 10, cpu=10.0 * (i + 1)) for i in range(3)]
    msgs += [telemetry("cam-1", now - 30, cpu=7.0)]  # recent: stays raw
    msgs += [telemetry("cam-1", now - 40 * 86400, cpu=1.0)]  # past keep_s: dropped
    store.apply(updates(*msgs), now=now)
    store.downsample(now, policy)
    pts = [(p.tier, p.ts, p.n, p.cpu_percent) for p in store.telemetry("cam-1")]
    assert pts == [(2, base, 6, 2.5), (1, mid, 3, 20.0), (0, now - 30, 1, 7.0)]
    # a late raw sample for an already folded minute merges into that bucket
    store.apply(updates(telemetry("cam-1", mid + 40, cpu=60.0)), now=now)
    assert store.downsample(now, policy)["raw_folded"] == 1
    mids = [p for p in store.telemetry("cam-1") if p.tier == 1]
    assert [(p.n, p.cpu_percent) for p in mids] == [(4, 30.0)]
    assert store.summary().telemetry_rows == {"raw": 1, "mid": 1, "old": 1}


def test_changed_since_and_summary(store: FleetStore) -> None:
    store.apply(updates(status("a-1", "online"), telemetry("a-1", T0)), now=T0)
    store.apply(updates(status("b-2", "offline"), telemetry("c-3", T0, type="gateway")), now=T0 + 5)
    assert [d.device_id for d in store.devices()] == ["a-1", "b-2", "c-3"]
    assert [d.device_id for d in store.devices(changed_since=T0 + 1)] == ["b-2", "c-3"]
    s = store.summary()
    assert (s.devices, s.online, s.offline, s.unknown) == (3, 1, 1, 1)
    assert s.by_type == {"camera": 1, "gateway": 1, "unknown": 1}


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="expected a path"):
        open_store("mysql://x/y", tmp_path)
    port_nobody_listens = 1
    with pytest.raises(StoreError, match="fleet store postgresql://") as exc:
        open_store(f"postgresql://u@127.0.0.1:{port_nobody_listens}/db", tmp_path)
    assert "\n" not in str(exc.value)
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match=r"dir\.db"):
        open_store(str(tmp_path / "dir.db"), tmp_path)


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        ("devices/a/status", b"maybe", "neither online nor offline"),
        ("devices/a/telemetry", b"[1]", "expected a JSON object"),
        ("devices/a/telemetry", b'{"timestamp": "x"}', "without a `metrics` object"),
        ("devices/a/alerts", b'{"state": "firing"}', "without `alertname`"),
        ("devices/a/commands/result", b'{"command_id": "c", "state": "DONE"}', "unknown state"),
        ("devices/a/commands/result", b'{"state": "QUEUED"}', "without `command_id`"),
        ("devices/a/events", b"{}", "not a device topic"),
        ("devices/a/audit", b"BIG", "more than"),
    ],
)
def test_unusable_messages_are_one_line_errors(topic: str, payload: bytes, why: str) -> None:
    from edgetui.fleet.messages import MessageError, parse

    if payload == b"BIG":
        payload = b"{" + b" " * 300_000 + b"}"
    with pytest.raises(MessageError, match=why) as exc:
        parse(topic, payload, T0)
    assert "\n" not in str(exc.value) and str(exc.value).startswith(topic)


def test_a_device_s_executions_in_every_rollout(store: FleetStore) -> None:
    spec = RolloutSpec("file:///m.json", "2.0.0", "/k")
    for rid, t in (("r2", 2.0), ("r1", 1.0)):
        execs = [Execution(rid, "d1", 0, "SUCCEEDED"), Execution(rid, "d2", 1)]
        store.create_rollout(RolloutRecord(rid, spec, created_at=t, updated_at=t), execs)
    got = [(e.rollout_id, e.device_id, e.state) for e in store.device_executions("d1")]
    assert got == [("r1", "d1", "SUCCEEDED"), ("r2", "d1", "SUCCEEDED")]
    assert [e.wave for e in store.device_executions("d2")] == [1, 1]
    assert store.device_executions("nope") == []


def test_rollout_rows_are_written_set_based_and_idempotent(store: FleetStore) -> None:
    # PostgreSQL writes these with one statement per 5,000 rows (unnest), SQLite with
    # executemany: the same rows either way.
    from edgetui.fleet.rollouts.records import Execution, RolloutRecord, RolloutSpec

    spec = RolloutSpec(manifest_url="file:///m.json", version="2.0.0", key="/k")
    execs = [Execution("r1", f"cam-{i}", i % 2) for i in range(3)]
    store.create_rollout(RolloutRecord("r1", spec, created_at=T0, updated_at=T0), execs)
    for e in execs[:2]:
        e.state, e.attempt, e.command_id, e.sent_at = "SENT", 1, f"r1.{e.device_id}.1", T0
    sends = [
        (
            e,
            CommandRecord(
                e.command_id or "", e.device_id, "ota.apply", rollout_id="r1", issued_at=T0
            ),
        )
        for e in execs[:2]
    ]
    store.record_sends(sends)
    store.apply(updates(result("cam-0", "r1.cam-0.1", "SUCCEEDED", T0 + 1)), now=T0 + 1)
    store.record_sends(sends)  # again (a restarted runner): the result is kept
    assert store.rollout_commands("r1") == {
        "r1.cam-0.1": ("SUCCEEDED", None),
        "r1.cam-1.1": ("RECORDED", None),
    }
    first, last = Execution("r1", "cam-2", 0, state="PENDING"), Execution("r1", "cam-2", 0)
    last.state, last.reason, last.finished_at = "CANCELED", "rollout halted", T0 + 2
    store.save_executions([first, last])  # the same device twice: the last one wins
    got = {e.device_id: e for e in store.executions("r1")}
    assert [(d, got[d].state, got[d].attempt, got[d].wave) for d in sorted(got)] == [
        ("cam-0", "SENT", 1, 0),
        ("cam-1", "SENT", 1, 1),
        ("cam-2", "CANCELED", 0, 0),
    ]
    assert got["cam-2"].finished_at == T0 + 2 and got["cam-0"].sent_at == T0
