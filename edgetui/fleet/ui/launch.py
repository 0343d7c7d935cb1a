"""Run the fleet console over a fleet session, with an ingest in the same process
(`edgetui fleet`)."""

from __future__ import annotations

from edgetui.fleet.session import FleetSession
from edgetui.fleet.ui.app import FleetApp


def run_console(session: FleetSession, *, readonly: bool = False) -> int:
    """Ingest from the session's broker into its store while the console shows the store;
    0 on quit. Without a broker the console only shows the store (other processes ingest
    into it) and cannot run rollouts; `readonly` hides every key that changes a rollout.
    The caller closes the session (which stops the ingest)."""
    if not session.has_broker:
        app = FleetApp(session.store, readonly=readonly)
    else:
        ingest = session.start_ingest()
        app = FleetApp(
            session.store,
            ingest_stats=lambda: ingest.stats,
            broker=session.broker,
            auth=session.auth,
            readonly=readonly,
        )
    try:
        app.run()
    finally:
        # However the app ended, its rollout runners stop and release their leases before
        # the session stops the ingest and closes the store they write to.
        app.runs.stop_all()
    return 0
