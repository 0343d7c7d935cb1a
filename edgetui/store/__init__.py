"""The durable outbox: every message the device sends is first a committed SQLite row.

Offers `Outbox` (enqueue, drain, bounded with a policy when full, TTL, priority classes,
rows deleted only after the broker's PUBACK through the ack journal, rollup and export),
its errors (`StoreError`, `OutboxFull`), and the message classes with their MQTT topic
suffixes (`KINDS`, `TOPIC_SUFFIX`). Modules: `outbox` (the class), `schema` (the database),
`drain` (the drain side), `full` (policy when full), `upkeep`, `rollup`, `export`,
`ack_journal`; `OutboxReader` (`readonly`: the "buffer" figures from the file opened
read-only, for a one-shot command that starts neither the outbox nor the uplink).
"""

from edgetui.store.full import OutboxFull
from edgetui.store.outbox import Outbox
from edgetui.store.readonly import OutboxReader
from edgetui.store.schema import KINDS, TOPIC_SUFFIX, StoreError

__all__ = ["KINDS", "TOPIC_SUFFIX", "Outbox", "OutboxFull", "OutboxReader", "StoreError"]
