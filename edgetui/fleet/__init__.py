"""The fleet side (operator side): what thousands of devices say through an MQTT broker,
kept in a fleet store and shown in a console. It never imports the device runtime, its
control socket or its parts; it meets devices only through the broker.

- `store`: the fleet store, one interface (`FleetStore`) over SQLite (embedded default) or
  PostgreSQL (shared by several fleet processes);
- `ingest`: MQTT 5 shared subscriptions into the store, in batches, on threads;
- `spool`: what the store refuses, on local disk until it takes it (replayed first);
- `messages`, `records`: what devices publish, parsed, and what the store keeps;
- `filter`: the filter expressions of `fleet devices --filter` and the console's `/`;
- `simulator`: many simulated devices in one process (`fleet simulate`);
- `ui`: the fleet console (the only fleet module that imports Textual);
- `session`: `FleetSession`, the store, broker, spool, ingest, rollout runners and MQTT
  clients (with the `[fleet]` TLS) of one operator process, which every fleet command,
  `command send` (`command_send`) and the console use (imported from there: it loads the
  rollouts and the signing code);
- `rollouts`: phased rollouts, one slice (records, the `RolloutStore` protocol, spec,
  judge, runner).

Offers `Ingest`, `Spool`, `SpoolError`, `FleetStore`, `open_store`, `StoreError`,
`DownsamplePolicy`, `DeviceFilter`, `FilterError`, `DeviceState`; and, for the faces' sake,
`parse_broker` and `BrokerAddress` (from `edgetui.models.broker`, shared with the device).
"""

from edgetui.fleet.filter import DeviceFilter, FilterError
from edgetui.fleet.ingest import Ingest
from edgetui.fleet.mqtt import BrokerAddress, parse_broker
from edgetui.fleet.records import DeviceState
from edgetui.fleet.spool import Spool, SpoolError
from edgetui.fleet.store import DownsamplePolicy, FleetStore, StoreError, open_store

__all__ = [
    "BrokerAddress",
    "DeviceFilter",
    "DeviceState",
    "DownsamplePolicy",
    "FilterError",
    "FleetStore",
    "Ingest",
    "Spool",
    "SpoolError",
    "StoreError",
    "open_store",
    "parse_broker",
]
