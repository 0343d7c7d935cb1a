"""`edgetui fleet status|devices|device|simulate` from a shell, on a fixed fleet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fleet.fixed_fleet import fixed_fleet
from tests.support.cli import run_cli, run_json


@pytest.fixture
def fleet_db(tmp_path: Path) -> str:
    fixed_fleet(tmp_path).close()
    return str(tmp_path / "fleet.db")


def fleet(db: str, *args: str) -> list[str]:
    return ["fleet", *args, "--store", db]


def test_status_json(fleet_db: str) -> None:
    doc = run_json(*fleet(fleet_db, "status", "--json"))
    assert doc["engine"] == "sqlite"
    assert (doc["devices"], doc["online"], doc["offline"], doc["unknown"]) == (12, 10, 2, 0)
    assert doc["alerts"] == {"critical": 1, "warning": 2}
    assert doc["by_type"] == {"camera": 8, "gateway": 4}
    assert doc["commands"] == {"REJECTED": 1, "SUCCEEDED": 1}
    assert set(doc) >= {"by_release", "telemetry_rows", "last_seen"}
    text = run_cli(*fleet(fleet_db, "status"))
    assert text.returncode == 0 and "12: 10 online, 2 offline" in text.stdout


def test_devices_json_filter_and_sort(fleet_db: str) -> None:
    doc = run_json(
        *fleet(fleet_db, "devices", "--json", "--filter", "type=gateway", "--sort", "cpu"),
        "--reverse",
    )
    assert [d["device_id"] for d in doc["devices"]] == ["gw-011", "gw-010", "gw-009", "gw-008"]
    assert (doc["count"], doc["total"], doc["filter"]) == (4, 12, "type=gateway")
    d = doc["devices"][1]
    assert d["alerts"] == {"critical": 0, "warning": 1}
    assert set(d) >= {
        "device_id", "device_type", "status", "version", "release", "slot", "slot_status",
        "cpu_percent", "memory_percent", "inference_p95_ms", "buffer_queued", "last_seen",
    }  # fmt: skip
    doc = run_json(*fleet(fleet_db, "devices", "--json", "--filter", "status=offline cpu>50"))
    assert [d["device_id"] for d in doc["devices"]] == ["gw-009"]
    text = run_cli(*fleet(fleet_db, "devices", "--filter", "cam-00"))
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 1 + 8


def test_one_device(fleet_db: str) -> None:
    doc = run_json(*fleet(fleet_db, "device", "cam-002", "--json"))
    assert doc["device"]["device_id"] == "cam-002"
    assert [a["key"] for a in doc["alerts"]] == ["disk_free", "cpu_high"]
    assert [c["state"] for c in doc["commands"]] == ["REJECTED", "SUCCEEDED"]
    assert len(doc["telemetry"]) == 59 and doc["telemetry"][0]["time"].endswith("Z")
    proc = run_cli(*fleet(fleet_db, "device", "nope"))
    assert proc.returncode == 1 and "no device 'nope'" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["devices", "--filter", "colour=red"], "unknown field 'colour'"),
        (["devices", "--filter", "cpu>lots"], "'lots' is not a number"),
        (["devices", "--filter", "type>3"], "type is text"),
        (["devices", "--sort", "colour"], "--sort 'colour'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(fleet_db: str, args: list[str], message: str) -> None:
    proc = run_cli(*fleet(fleet_db, *args))
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_store_broker_and_rates(tmp_path: Path) -> None:
    proc = run_cli("--state-dir", str(tmp_path), "fleet", "status", "--store", "mysql://x/y")
    assert proc.returncode == 2 and "expected a path" in proc.stderr
    proc = run_cli("--state-dir", str(tmp_path), "fleet", "ingest")
    assert proc.returncode == 2 and "no broker" in proc.stderr
    proc = run_cli("fleet", "simulate", "--broker", "http://x", "--devices", "3")
    assert proc.returncode == 2 and "expected mqtt://" in proc.stderr
    proc = run_cli(
        "fleet", "simulate", "--broker", "mqtt://127.0.0.1:1", "--devices", "3",
        "--offline-rate", "1.5",
    )  # fmt: skip
    assert proc.returncode == 2 and "--offline-rate 1.5" in proc.stderr
    proc = run_cli("fleet", "simulate", "--broker", "mqtt://127.0.0.1:1", "--devices", "0")
    assert proc.returncode == 2 and "--devices 0" in proc.stderr


def test_simulate_then_ingest_from_the_shell(tmp_path: Path, mosquitto) -> None:
    db = str(tmp_path / "fleet.db")
    sim = run_cli(
        "fleet", "simulate", "--broker", mosquitto.url, "--devices", "20", "--seconds", "3",
        "--telemetry-interval", "0.5", "--json",
    )  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    last = json.loads(sim.stdout.strip().splitlines()[-1])
    assert last["devices"] == 20 and last["published"] > 0
    # the devices said offline (retained) when they stopped: a later ingest learns it
    ing = run_cli(
        "--state-dir", str(tmp_path), "fleet", "ingest", "--broker", mosquitto.url,
        "--store", db, "--seconds", "5", "--json",
    )  # fmt: skip
    assert ing.returncode == 0, ing.stderr
    assert json.loads(ing.stdout)["by_kind"]["status"] == 20
    doc = run_json(*fleet(db, "status", "--json"))
    assert (doc["devices"], doc["offline"]) == (20, 20)


def test_fleet_config_errors_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[fleet]\ngroup = "a/b"\n')
    proc = run_cli("--config", str(cfg), "fleet", "status")
    assert proc.returncode == 2 and "[fleet] group" in proc.stderr
    cfg.write_text("[fleet]\nbatch_s = 0\n")
    proc = run_cli("--config", str(cfg), "fleet", "status")
    assert proc.returncode == 2 and "[fleet] batch_s" in proc.stderr


def test_the_console_ingests_while_it_runs_and_quits_on_q(tmp_path: Path, mosquitto) -> None:
    import os
    import sys

    from edgetui.bench.pty_proc import PtyProcess
    from edgetui.fleet.store import open_store
    from tests.fleet.helpers import until
    from tests.fleet.test_ingest import publish
    from tests.support.cli import env

    publish(mosquitto, "devices/pty-1/status", b"online", retain=True)
    db = str(tmp_path / "fleet.db")
    argv = [sys.executable, "-m", "edgetui", "--state-dir", str(tmp_path), "fleet"]
    console = PtyProcess([*argv, "--broker", mosquitto.url, "--store", db], 120, 30, env=env())
    try:
        store = until(lambda: (tmp_path / "fleet.db").exists() and open_store(db, tmp_path))
        try:
            until(lambda: store.device("pty-1"), what="the retained status, ingested")
            assert store.device("pty-1").status == "online"  # type: ignore[union-attr]
        finally:
            store.close()
        until(lambda: console.bytes_out > 0, what="the console drawing")
        os.write(console.master, b"q")
        assert console.proc.wait(timeout=30) == 0
    finally:
        console.stop()
