"""Prometheus exposition of the device's latest snapshot.

Offers `MetricsExporter` (the part named "metrics": serves `/metrics` with prometheus-client's
own server thread when `[metrics] listen` is set, and writes a node_exporter textfile
atomically when `[metrics] textfile` is set) and `SnapshotCollector` (a custom collector on its
own registry: names under `edgetui_` in base units, read from the latest snapshot).
"""

from edgetui.metrics.collector import SnapshotCollector, render
from edgetui.metrics.exporter import MetricsExporter

__all__ = ["MetricsExporter", "SnapshotCollector", "render"]
