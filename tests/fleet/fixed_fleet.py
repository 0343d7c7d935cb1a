"""A fixed fleet in a real SQLite store, for the console's Pilot and snapshot tests."""

from __future__ import annotations

from pathlib import Path

from edgetui.fleet.store import FleetStore, open_store
from tests.fleet.payloads import T0, alert, result, status, telemetry, updates

NOW = T0 + 30.0  # the console's clock in these tests


def fixed_fleet(tmp_path: Path) -> FleetStore:
    store = open_store(str(tmp_path / "fleet.db"), tmp_path)
    msgs = []
    for i in range(12):
        dev = f"cam-{i:03d}" if i < 8 else f"gw-{i:03d}"
        kind = "camera" if i < 8 else "gateway"
        msgs.append(status(dev, "offline" if i in (3, 9) else "online"))
        extra = {"slot": "b", "slot_status": "trial"} if i == 5 else {}
        msgs.append(
            telemetry(dev, T0 - 10 * i, cpu=5.0 + 7.5 * i, type=kind, buffer_queued=i, **extra)
        )
    msgs.append(alert("cam-002", "cpu_high", "firing", "critical", T0 - 60))
    msgs.append(alert("cam-002", "disk_free", "firing", "warning", T0 - 50))
    msgs.append(alert("gw-010", "memory_available", "firing", "warning", T0 - 40))
    msgs.append(result("cam-002", "cmd-1", "SUCCEEDED", T0 - 20, command="ota.check"))
    msgs.append(
        result("cam-002", "cmd-2", "REJECTED", T0 - 10, command="ota.apply", reason="expired")
    )
    store.apply(updates(*msgs, received=T0), writer="fleet-a", now=T0)
    history = [telemetry("cam-002", T0 - 600 + 10 * k, cpu=20 + (k % 7) * 9.0) for k in range(58)]
    store.apply(updates(*history, received=T0), writer="fleet-a", now=T0)
    return store
