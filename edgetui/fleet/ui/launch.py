"""Run the fleet console with an ingest in the same process (`edgetui fleet`)."""

from __future__ import annotations

from edgetui.fleet.ingest import Ingest
from edgetui.fleet.spool import Spool
from edgetui.fleet.store import DownsamplePolicy, FleetStore
from edgetui.fleet.ui.app import FleetApp
from edgetui.models.broker import BrokerAddress


def run_console(
    store: FleetStore,
    broker: BrokerAddress | None,
    *,
    group: str,
    policy: DownsamplePolicy,
    batch_s: float = 0.5,
    spool: Spool | None = None,
    readonly: bool = False,
) -> int:
    """Ingest from `broker` into `store` while the console shows the store; 0 on quit.
    Without a broker the console only shows the store (other processes ingest into it) and
    cannot run rollouts; `readonly` hides every key that changes a rollout."""
    if broker is None:
        app = FleetApp(store, readonly=readonly)
        try:
            app.run()
        finally:
            app.runs.stop_all()
        return 0
    ingest = Ingest(store, broker, group=group, batch_s=batch_s, policy=policy, spool=spool)
    ingest.start()
    app = FleetApp(store, ingest_stats=lambda: ingest.stats, broker=broker, readonly=readonly)
    try:
        app.run()
    finally:
        # However the app ended, its rollout runners stop and release their leases before
        # the store they write to is closed.
        app.runs.stop_all()
        ingest.stop()
    return 0
