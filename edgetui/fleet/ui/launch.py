"""Run the fleet console with an ingest in the same process (`edgetui fleet`)."""

from __future__ import annotations

from edgetui.fleet.ingest import Ingest
from edgetui.fleet.mqtt import Broker
from edgetui.fleet.spool import Spool
from edgetui.fleet.store import DownsamplePolicy, FleetStore
from edgetui.fleet.ui.app import FleetApp


def run_console(
    store: FleetStore,
    broker: Broker | None,
    *,
    group: str,
    policy: DownsamplePolicy,
    batch_s: float = 0.5,
    spool: Spool | None = None,
) -> int:
    """Ingest from `broker` into `store` while the console shows the store; 0 on quit.
    Without a broker the console only shows the store (other processes ingest into it)."""
    if broker is None:
        FleetApp(store).run()
        return 0
    ingest = Ingest(store, broker, group=group, batch_s=batch_s, policy=policy, spool=spool)
    ingest.start()
    try:
        FleetApp(store, ingest_stats=lambda: ingest.stats).run()
    finally:
        ingest.stop()
    return 0
