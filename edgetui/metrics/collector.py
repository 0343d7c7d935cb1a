"""A prometheus-client Collector over the latest snapshot dict: names under `edgetui_`,
base units (seconds, bytes, ratios 0-1), counters ending in `_total`, and
`edgetui_alert{alertname,severity,state}` in the manner of Prometheus's ALERTS.
Only measured figures are exported: a part that is not running exports nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from edgetui.metrics.latency import LatencyHistogram
from edgetui.models.agents import AgentRow, AgentStatus
from edgetui.models.alerts import AlertsSection
from edgetui.models.inference_section import InferenceSection, WorkerSection, WorkerState
from edgetui.models.serde import convert

MB, GB = 2**20, 1e9


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else None


def _gauge(name: str, doc: str, value: Any, scale: float = 1.0) -> Iterator[Metric]:
    n = _num(value)
    if n is not None:
        yield GaugeMetricFamily(name, doc, value=n * scale)


def _counter(name: str, doc: str, value: Any) -> Iterator[Metric]:
    n = _num(value)
    if n is not None:
        yield CounterMetricFamily(name, doc, value=n)


class SnapshotCollector:
    """Reads `latest()` (a snapshot dict or None) at each scrape."""

    def __init__(
        self,
        latest: Callable[[], dict[str, Any] | None],
        latency: LatencyHistogram | None = None,
    ) -> None:
        self.latest = latest
        self.latency = latency or LatencyHistogram()

    def collect(self) -> Iterator[Metric]:
        snap = self.latest()
        if not snap:
            return
        info = InfoMetricFamily("edgetui", "the edgetui build and device")
        info.add_metric(
            [], {k: str(snap.get(k, "")) for k in ("version", "device_id", "device_type", "mode")}
        )
        yield info
        yield from self._resources(snap.get("resources") or {})
        if isinstance(snap.get("inference"), dict):
            yield from self._inference(snap["inference"])
        if isinstance(snap.get("bus"), dict):
            yield from self._bus(snap["bus"])
        if isinstance(snap.get("buffer"), dict):
            yield from self._buffer(snap["buffer"])
        if isinstance(snap.get("agents"), list):
            yield from self._agents(snap["agents"])
        if isinstance(snap.get("ota"), dict):
            yield from self._ota(snap["ota"])
        if isinstance(snap.get("alerts"), dict):
            yield from self._alerts(snap["alerts"])

    def _resources(self, r: dict[str, Any]) -> Iterator[Metric]:
        yield from _gauge(
            "edgetui_cpu_usage_ratio", "CPU in use, all cores", r.get("cpu_percent"), 0.01
        )
        cores = GaugeMetricFamily(
            "edgetui_cpu_core_usage_ratio", "CPU in use per core", labels=["core"]
        )
        for i, v in enumerate(r.get("cpu_per_core") or []):
            cores.add_metric([str(i)], float(v) / 100.0)
        yield cores
        yield from _gauge(
            "edgetui_memory_total_bytes", "physical memory", r.get("memory_total_mb"), MB
        )
        yield from _gauge(
            "edgetui_memory_available_bytes",
            "memory available to new work",
            r.get("memory_free_mb"),
            MB,
        )
        yield from _gauge(
            "edgetui_disk_total_bytes", "state filesystem size", r.get("disk_total_gb"), GB
        )
        yield from _gauge(
            "edgetui_disk_free_bytes", "state filesystem free", r.get("disk_free_gb"), GB
        )
        yield from _gauge(
            "edgetui_temperature_celsius", "hottest CPU sensor", r.get("temperature_c")
        )
        load = GaugeMetricFamily("edgetui_load_average", "system load average", labels=["period"])
        for period, v in zip(("1m", "5m", "15m"), r.get("load_avg") or [], strict=False):
            load.add_metric([period], float(v))
        yield load
        yield from _gauge(
            "edgetui_network_receive_bytes_per_second", "network receive rate", r.get("net_rx_bps")
        )
        yield from _gauge(
            "edgetui_network_transmit_bytes_per_second",
            "network transmit rate",
            r.get("net_tx_bps"),
        )
        yield from _gauge(
            "edgetui_system_uptime_seconds", "time since boot", r.get("uptime_seconds")
        )
        yield from _gauge(
            "edgetui_process_uptime_seconds",
            "time since edgetui started",
            r.get("process_uptime_seconds"),
        )

    def _inference(self, raw: dict[str, Any]) -> Iterator[Metric]:
        inf = convert(InferenceSection, raw)  # the snapshot's JSON, read as its type
        yield from _gauge(
            "edgetui_inference_model_available", "1 when a model is loaded", inf.available
        )
        yield from _counter("edgetui_inference_requests", "inference requests", inf.requests)
        yield from _counter("edgetui_inference_errors", "failed inference requests", inf.errors)
        yield from _counter(
            "edgetui_inference_timeouts", "timed-out inference requests", inf.timeouts
        )
        buckets, total, count = self.latency.export()
        yield HistogramMetricFamily(
            "edgetui_inference_latency_seconds",
            "end-to-end inference latency",
            buckets=[(le, c) for le, c in buckets],
            sum_value=total,
        )
        del count
        yield from _gauge(
            "edgetui_inference_time_to_first_token_seconds",
            "median time to first token",
            inf.ttft_ms,
            0.001,
        )
        yield from _gauge(
            "edgetui_inference_tokens_per_second", "mean generation speed", inf.tokens_per_s
        )
        yield from _counter(
            "edgetui_inference_completion_tokens", "tokens generated", self.latency.tokens
        )
        if inf.worker is not None:
            yield from self._inference_worker(inf.worker)

    def _inference_worker(self, w: WorkerSection) -> Iterator[Metric]:
        yield from _gauge(
            "edgetui_inference_worker_up", "1 while the model worker process serves",
            w.state == WorkerState.RUNNING,
        )  # fmt: skip
        yield from _counter(
            "edgetui_inference_worker_restarts", "model worker process restarts", w.restarts
        )
        yield from _counter(
            "edgetui_inference_worker_crashes", "model worker process crashes", w.crashes
        )
        yield from _gauge(
            "edgetui_inference_worker_resident_bytes", "model worker resident memory",
            w.rss_mb, 2**20,
        )  # fmt: skip
        yield from _gauge(
            "edgetui_inference_worker_recovery_seconds",
            "last crash to the first model answer after it",
            w.recovery_ms, 0.001,
        )  # fmt: skip

    def _bus(self, bus: dict[str, Any]) -> Iterator[Metric]:
        for key, doc in (
            ("published", "events published"),
            ("delivered", "events delivered"),
            ("dropped", "events dropped by slow subscribers"),
            ("rejected", "invalid events refused"),
        ):
            yield from _counter(f"edgetui_bus_events_{key}", doc, bus.get(key))
        yield from _gauge(
            "edgetui_bus_subscribers", "bus subscribers", len(bus.get("subscribers") or [])
        )

    def _buffer(self, b: dict[str, Any]) -> Iterator[Metric]:
        yield from _gauge("edgetui_buffer_queued_messages", "messages waiting", b.get("queued"))
        yield from _gauge("edgetui_buffer_queued_bytes", "bytes waiting", b.get("queued_bytes"))
        yield from _gauge(
            "edgetui_buffer_fill_ratio", "fill against the bound", b.get("fill_percent"), 0.01
        )
        yield from _gauge(
            "edgetui_buffer_oldest_age_seconds",
            "age of the oldest message",
            b.get("oldest_age_s") or 0.0,
        )
        for key in ("sent", "dropped", "rejected", "expired"):
            yield from _counter(f"edgetui_buffer_messages_{key}", f"messages {key}", b.get(key))
        state = b.get("state")
        if state not in (None, "no_broker"):
            yield from _gauge(
                "edgetui_uplink_connected", "1 while connected to the broker", state == "connected"
            )
            yield from _counter(
                "edgetui_uplink_connect_attempts", "connection attempts", b.get("attempts")
            )

    def _agents(self, agents: list[Any]) -> Iterator[Metric]:
        up = GaugeMetricFamily("edgetui_agent_up", "1 while the agent runs", labels=["agent"])
        restarts = CounterMetricFamily("edgetui_agent_restarts", "agent restarts", labels=["agent"])
        for a in convert(list[AgentRow], [a for a in agents if isinstance(a, dict)]):
            name = str(a.name)
            up.add_metric(
                [name], 1.0 if a.status in (AgentStatus.RUNNING, AgentStatus.IDLE) else 0.0
            )
            restarts.add_metric([name], float(a.restarts or 0))
        yield up
        yield restarts

    def _ota(self, ota: dict[str, Any]) -> Iterator[Metric]:
        info = InfoMetricFamily("edgetui_ota_slot", "A/B slots", labels=["slot"])
        for name, s in (ota.get("slots") or {}).items():
            if isinstance(s, dict):
                info.add_metric(
                    [name],
                    {
                        "status": str(s.get("status") or ""),
                        "version": str(s.get("version") or ""),
                        "booted": str(name == ota.get("booted")).lower(),
                        "primary": str(name == ota.get("primary")).lower(),
                    },
                )
        yield info

    def _alerts(self, raw: dict[str, Any]) -> Iterator[Metric]:
        fam = GaugeMetricFamily(
            "edgetui_alert", "pending and firing alerts", labels=["alertname", "severity", "state"]
        )
        seen: set[tuple[str, str, str]] = set()
        for a in convert(AlertsSection, raw).alerts:
            key = (str(a.name), str(a.severity), str(a.state))
            if key not in seen:  # several instances of one rule: one series
                seen.add(key)
                fam.add_metric(list(key), 1.0)
        yield fam


def render(collector: SnapshotCollector) -> bytes:
    """The text exposition of one collector on a registry of its own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    return generate_latest(registry)
