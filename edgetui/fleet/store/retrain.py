"""The retraining half of the SQL fleet store: the decision inputs devices send when a drift
or confidence alert fires (`retrain_samples`, schema version 3).

Mixed into `SqlFleetStore` (it uses its `_rows`); the ingest's `apply` writes the rows with
`RETRAIN_INSERT` in the batch's transaction. A sample is keyed by (device, the device's
sample id): a message delivered twice, or a sample sent again, is the same row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from edgetui.fleet.records import RetrainSample

RETRAIN_FIELDS = (
    "device_id",
    "sample_id",
    "alert",
    "model_version",
    "at",
    "event_type",
    "data",
    "context",
    "action",
    "message",
    "source",
    "confidence",
    "received",
)
RETRAIN_COLUMNS = ", ".join(RETRAIN_FIELDS)
RETRAIN_INSERT = (
    f"INSERT INTO retrain_samples ({RETRAIN_COLUMNS}) "
    f"VALUES ({', '.join('?' for _ in RETRAIN_FIELDS)}) "
    "ON CONFLICT (device_id, sample_id) DO NOTHING"
)


def retrain_row(s: RetrainSample) -> tuple[Any, ...]:
    """A sample as the row `RETRAIN_INSERT` takes (objects as sorted JSON text)."""
    return (
        s.device_id,
        s.sample_id,
        s.alert,
        s.model_version,
        s.at,
        s.event_type,
        json.dumps(s.data, sort_keys=True),
        json.dumps(s.context, sort_keys=True),
        s.action,
        s.message,
        s.source,
        s.confidence,
        s.received,
    )


def _sample(row: tuple[Any, ...]) -> RetrainSample:
    d = dict(zip(RETRAIN_FIELDS, row, strict=True))
    d["data"], d["context"] = json.loads(d["data"]), json.loads(d["context"])
    return RetrainSample(**d)


class RetrainSql:
    """`FleetStore.retrain_samples` over SQL."""

    _rows: Any  # SqlFleetStore's

    def retrain_samples(
        self,
        *,
        since: float | None = None,
        devices: Iterable[str] | None = None,
        version: str | None = None,
    ) -> list[RetrainSample]:
        """The stored samples (decided at or after `since`, of `devices`, of model
        `version`), in (device, sample id) order."""
        sql = f"SELECT {RETRAIN_COLUMNS} FROM retrain_samples"
        where: list[str] = []
        params: tuple[Any, ...] = ()
        if since is not None:
            where.append("COALESCE(at, received) >= ?")
            params += (since,)
        if version is not None:
            where.append("model_version = ?")
            params += (version,)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._rows(sql + " ORDER BY device_id, sample_id", params)
        wanted = None if devices is None else set(devices)
        return [_sample(r) for r in rows if wanted is None or r[0] in wanted]
