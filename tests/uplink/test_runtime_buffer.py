"""The buffer as the runtime exposes it: `buffer` section, methods, telemetry and log feed,
and the `edgetui buffer ...` commands."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from edgetui.config import Config, StoreConfig
from edgetui.runtime import Runtime
from edgetui.store.outbox import Outbox
from tests.support.cli import run_cli
from tests.support.mqtt_sub import Collector
from tests.uplink.helpers import wait_until


def runtime_config(config: Config, url: str = "") -> Config:
    config.uplink.url = url
    config.uplink.backoff_min_s = 0.1
    config.uplink.backoff_max_s = 0.5
    config.telemetry.publish_interval_s = 0.2
    config.agents.enabled = []
    return config


async def test_runtime_buffer_section_methods_and_feed(
    state_dir: Path, config: Config, mosquitto, tmp_path: Path
) -> None:
    sub = Collector(mosquitto.host, mosquitto.port, "devices/test-device/#")
    rt = Runtime(runtime_config(config, mosquitto.url), state_dir)
    await rt.start()
    try:
        logging.getLogger("edgetui.test").warning("uplink test warning")
        await wait_until(lambda: len(sub.rows("/telemetry")) >= 2, what="telemetry messages")
        await wait_until(
            lambda: any(r.get("message") == "uplink test warning" for r in sub.rows("/logs")),
            what="the warning as a log message",
        )
        tel = sub.rows("/telemetry")[0]
        assert tel["device_id"] == "test-device"
        assert set(tel["metrics"]) == {
            "cpu_utilization",
            "memory_free_mb",
            "disk_free_gb",
            "inference_latency_ms",
            "agent_status",
            "model_version",
            "uptime_seconds",
        }
        snap = (await rt.status()).to_dict()
        await wait_until(lambda: rt._latest is not None and "buffer" in rt._latest.sections)
        buf = rt._latest.to_dict()["buffer"]
        for key in (
            "state",
            "broker",
            "queued",
            "queued_bytes",
            "fill_percent",
            "oldest_age_s",
            "send_rate",
            "dropped",
            "expired",
            "last_error",
            "seq",
        ):
            assert key in buf, key
        assert buf["state"] == "connected" and buf["broker"] == mosquitto.url
        assert "buffer" in snap
        stats = await rt.call("buffer.stats")
        assert stats["seq"] >= 3
        flushed = await rt.call("buffer.flush", {"timeout": 10})
        assert flushed["ok"] is True
        assert (await rt.call("buffer.retry"))["broker"] == mosquitto.url
        out = tmp_path / "export.ndjson"
        res = await rt.call("buffer.export", {"out": str(out), "remove": False})
        assert res["path"] == str(out) and out.exists()
    finally:
        await rt.stop()
        sub.close()


def write_cfg(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[device]\nid = "cli-dev"\n[agents]\nenabled = []\n[store]\nmax_messages = 50\n' + extra
    )
    return cfg


def seed(state: Path, n: int) -> None:
    async def go() -> None:
        ob = Outbox(StoreConfig(), state / "edgetui.db")
        await ob.start()
        await ob.enqueue_many([("event", {"n": i}) for i in range(n)])
        await ob.stop()

    state.mkdir(parents=True, exist_ok=True)
    asyncio.run(go())


def test_cli_stats_flush_export_without_a_broker(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seed(state, 7)
    cfg = write_cfg(tmp_path)
    base = ["--config", str(cfg), "--state-dir", str(state)]
    proc = run_cli(*base, "buffer", "stats", "--json")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["state"] == "no_broker" and stats["max_messages"] == 50
    assert stats["by_class"]["event"] == 7
    proc = run_cli(*base, "buffer", "stats")
    assert proc.returncode == 0 and "no broker configured" in proc.stdout
    proc = run_cli(*base, "buffer", "flush", "--timeout", "0.5", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["last_error"] == "no broker configured"
    out = tmp_path / "usb" / "backlog.ndjson"
    proc = run_cli(*base, "buffer", "export", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    lines = out.read_text().splitlines()
    assert res["messages"] == len(lines) >= 7 and res["removed"] == 0
    proc = run_cli(*base, "buffer", "export", "--out", str(out), "--remove")
    assert proc.returncode == 0 and "removed from the queue" in proc.stdout
    proc = run_cli(*base, "status", "--json")
    assert "buffer" in json.loads(proc.stdout)


def test_cli_flush_bad_timeout_is_a_usage_error(tmp_path: Path) -> None:
    cfg = write_cfg(tmp_path)
    proc = run_cli(
        "--config",
        str(cfg),
        "--state-dir",
        str(tmp_path / "s"),
        "buffer",
        "flush",
        "--timeout",
        "-1",
    )
    assert proc.returncode == 2 and "--timeout" in proc.stderr
