"""Whole processes: two `edgetui fleet ingest` processes sharing one broker and one
PostgreSQL, and real `edgetui daemon`s beside hundreds of simulated devices."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from edgetui.fleet.store import open_store
from tests.fleet.helpers import ingesting, online, simulating, until
from tests.support.cli import ROOT, env, run_json, start_daemon
from tests.support.mosquitto import Broker


def spawn_ingest(url: str, store: str, name: str, state: Path) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "edgetui", "--state-dir", str(state), "fleet", "ingest"]
    argv += ["--broker", url, "--store", store, "--name", name, "--json"]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT
    )


def stop_ingest(proc: subprocess.Popen[str]) -> dict:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_two_fleet_processes_split_the_load_and_share_postgres(
    tmp_path: Path, mosquitto: Broker, postgres_url: str
) -> None:
    n = 100
    a = spawn_ingest(mosquitto.url, postgres_url, "fleet-a", tmp_path / "a")
    b = spawn_ingest(mosquitto.url, postgres_url, "fleet-b", tmp_path / "b")
    store = open_store(postgres_url, tmp_path)
    try:
        # Both in the shared subscription before the devices publish: one that starts late
        # on a loaded machine would miss its share and fail the "both took a real share"
        # check below. The broker's log says when it acknowledged each one's SUBSCRIBE.
        until(
            lambda: all(
                f"Sending SUBACK to edgetui-fleet-{name}" in mosquitto.log_text()
                for name in ("fleet-a", "fleet-b")
            ),
            what="both fleet processes subscribed",
        )
        with simulating(mosquitto.url, n, telemetry_interval_s=0.5):
            until(lambda: online(store) == n, what="every device online")
            until(
                lambda: {d.ingested_by for d in store.devices()} == {"fleet-a", "fleet-b"},
                what="telemetry ingested by both processes",
            )
            for state in ("a", "b"):  # each process's view of the shared store: everyone
                doc = run_json(
                    "--state-dir", str(tmp_path / state), "fleet", "devices", "--json",
                    "--store", postgres_url,
                )  # fmt: skip
                assert doc["total"] == n and doc["count"] == n
        until(lambda: store.summary().offline == n, what="every device offline")
        stats = [stop_ingest(a), stop_ingest(b)]
        rows = store.summary().telemetry_rows["raw"]
        got = [s["by_kind"].get("telemetry", 0) for s in stats]
        assert sum(got) == rows  # each message went to exactly one process of the group
        assert all(g > rows * 0.2 for g in got), got  # and both took a real share
        assert [s["by_kind"].get("status", 0) >= 2 * n for s in stats] == [True, True]
    finally:
        store.close()
        for p in (a, b):
            if p.poll() is None:
                p.kill()
                p.communicate()


def test_real_daemons_beside_simulated_devices(tmp_path: Path, mosquitto: Broker) -> None:
    daemons = []
    for i in (1, 2):
        cfg = tmp_path / f"real-{i}.toml"
        cfg.write_text(
            f'[device]\nid = "real-{i}"\ntype = "kiosk"\n'
            "[telemetry]\ninterval_s = 0.2\npublish_interval_s = 0.5\n"
            f'[uplink]\nurl = "{mosquitto.url}"\nbackoff_min_s = 0.1\n'
            "[agents]\nenabled = []\n"
        )
        (tmp_path / f"real-{i}").mkdir()
        daemons.append(start_daemon(tmp_path / f"real-{i}" / "state", config=cfg))
    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    try:
        with ingesting(store, mosquitto.url), simulating(mosquitto.url, 300):
            until(lambda: online(store) == 302, what="300 simulated and 2 real devices online")

            def real_with_telemetry() -> list:
                got = [d for d in store.devices() if d.device_id.startswith("real-")]
                return got if len([d for d in got if d.last_telemetry]) == 2 else []

            real = until(real_with_telemetry, what="telemetry from both daemons")
            for d in real:
                assert (d.device_type, d.version, d.status) == ("kiosk", "0.1.0", "online")
                assert d.cpu_percent is not None and d.memory_total_mb
                assert d.inference_p95_ms is None  # no inference part runs: null, not invented
            until(
                lambda: store.summary().by_type == {"camera": 300, "kiosk": 2},
                what="telemetry (with the type) from every device",
            )
            for p in daemons:
                p.terminate()
                p.wait(timeout=30)
            until(
                lambda: all(
                    d.status == "offline" for d in store.devices() if d.device_id.startswith("real")
                ),
                what="the stopped daemons offline",
            )
            assert online(store) == 300
    finally:
        store.close()
        for p in daemons:
            if p.poll() is None:
                p.kill()
