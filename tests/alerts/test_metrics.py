"""The Prometheus collector on a full synthetic snapshot: names, units, the latency histogram,
edgetui_alert, nothing for absent parts; promtool where installed; the textfile is atomic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgetui.config import MetricsConfig
from edgetui.metrics import MetricsExporter, SnapshotCollector, render
from tests.alerts.helpers import snap
from tests.alerts.test_cli import promtool_ok


def full_snapshot(completed: int, history: list[float]) -> dict[str, Any]:
    return snap(
        inference={
            "available": True,
            "requests": completed + 1,
            "completed": completed,
            "errors": 1,
            "timeouts": 0,
            "ttft_ms": 5.0,
            "tokens_per_s": 80.0,
            "p95_ms": 40.0,
            "latency_history": history,
            "last_completion_tokens": 12,
        },
        bus={"published": 10, "delivered": 20, "dropped": 0, "rejected": 1, "subscribers": [{}]},
        buffer={
            "state": "connected",
            "broker": "127.0.0.1:1883",
            "queued": 3,
            "queued_bytes": 900,
            "fill_percent": 1.5,
            "oldest_age_s": None,
            "sent": 7,
            "dropped": 0,
            "rejected": 0,
            "expired": 0,
            "attempts": 1,
        },
        agents=[{"name": "sensor", "status": "running", "restarts": 2}],
        ota={
            "booted": "a",
            "primary": "a",
            "slots": {"a": {"status": "good", "version": "1.0.0"}, "b": {"status": "empty"}},
        },
        alerts={"alerts": [{"name": "cpu_high", "severity": "warning", "state": "firing"}]},
    )


def test_collector_names_units_and_alerts() -> None:
    latest: dict[str, Any] = {"snap": snap()}
    exporter = MetricsExporter(MetricsConfig(), lambda: latest["snap"])
    text = render(exporter.collector).decode()
    assert "edgetui_cpu_usage_ratio 0.1" in text
    assert "edgetui_memory_total_bytes 1.048576e+09" in text
    assert "edgetui_temperature_celsius" not in text  # null: no sensor, nothing exported
    assert "edgetui_inference" not in text and "edgetui_alert" not in text  # parts absent

    latest["snap"] = full_snapshot(0, [])
    exporter.latency.observe_section(latest["snap"]["inference"])
    latest["snap"] = full_snapshot(3, [30.0, 40.0, 200.0])
    exporter.latency.observe_section(latest["snap"]["inference"])
    text = render(exporter.collector).decode()
    assert 'edgetui_inference_latency_seconds_bucket{le="0.05"} 2.0' in text
    assert 'edgetui_inference_latency_seconds_bucket{le="+Inf"} 3.0' in text
    assert "edgetui_inference_latency_seconds_count 3.0" in text
    assert "edgetui_inference_requests_total 4.0" in text
    assert "edgetui_inference_completion_tokens_total 12.0" in text
    assert "edgetui_bus_events_published_total 10.0" in text
    assert "edgetui_buffer_fill_ratio 0.015" in text and "edgetui_uplink_connected 1.0" in text
    assert 'edgetui_agent_restarts_total{agent="sensor"} 2.0' in text
    assert 'edgetui_ota_slot_info{booted="true",primary="true",slot="a",status="good",' in text
    assert 'edgetui_alert{alertname="cpu_high",severity="warning",state="firing"} 1.0' in text
    promtool_ok(text)


def test_textfile_is_written_atomically(tmp_path: Path) -> None:
    path = tmp_path / "textfile" / "edgetui.prom"
    exporter = MetricsExporter(MetricsConfig(textfile=str(path)), lambda: full_snapshot(1, [5.0]))
    exporter.write_textfile()
    text = path.read_text()
    assert text.startswith("# HELP edgetui_info") and "edgetui_alert{" in text
    assert [p.name for p in path.parent.iterdir()] == ["edgetui.prom"]  # no temp file left
    promtool_ok(text)


def test_collector_without_snapshot_exports_nothing() -> None:
    assert render(SnapshotCollector(lambda: None)) == b""
