"""The fleet store over SQL, one implementation for both engines: an engine is a `Dialect`
(how to connect, its float type, its placeholder, how to floor a time into a bucket).

Every write is idempotent and ordered by the device's own times, so two fleet processes
sharing one PostgreSQL, a message delivered twice, or buffered telemetry arriving late never
overwrite a newer state. Device rows are always locked in id order, so two writers never
deadlock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from edgetui.fleet.messages import (
    AlertUpdate,
    CommandUpdate,
    RetrainUpdate,
    StatusUpdate,
    TelemetryUpdate,
    Update,
)
from edgetui.fleet.records import (
    AlertRecord,
    CommandRecord,
    DeviceState,
    FleetSummary,
    TelemetryPoint,
)
from edgetui.fleet.store.base import DownsamplePolicy
from edgetui.fleet.store.dialect import Dialect
from edgetui.fleet.store.retrain import RETRAIN_INSERT, RetrainSql, retrain_row
from edgetui.fleet.store.rollouts import RolloutSql
from edgetui.fleet.store.schema import DEVICE_COLUMNS, SERIES, TELEMETRY_STATE
from edgetui.fleet.store.statements import (
    ALERT,
    ALERT_COLUMNS,
    ALERT_COUNTS,
    AUDIT,
    COMMAND,
    COMMAND_COLUMNS,
    POINT_COLUMNS,
    STATUS,
    TELEMETRY_POINT,
    TELEMETRY_ROW,
    TOUCH,
)
from edgetui.models.vocabulary import DeviceStatus


def _latest(items: Sequence[Any], key: Any, when: Any) -> dict[Any, Any]:
    """The newest item per key (by `when`); later items win ties."""
    out: dict[Any, Any] = {}
    for item in items:
        k = key(item)
        if k not in out or when(item) >= when(out[k]):
            out[k] = item
    return out


class SqlFleetStore(RolloutSql, RetrainSql):
    """`FleetStore` over one connection of `dialect`, serialized by a lock (the ingest's
    writer thread and readers in `asyncio.to_thread` share it)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.engine = dialect.engine
        self.where = dialect.where
        self._lock = threading.Lock()
        self._conn: Any = dialect.connect()  # None after it broke: the next call reconnects
        self._sql: dict[str, str] = {}
        self._bulk = dialect.bulk()

    # -- plumbing ------------------------------------------------------------------------
    def _q(self, sql: str) -> str:
        if sql not in self._sql:
            self._sql[sql] = self.dialect.translate(sql)
        return self._sql[sql]

    @contextlib.contextmanager
    def _tx(self, lock_name: str | None = None, *, write: bool = True) -> Iterator[Any]:
        with self._lock:
            if self._conn is None:  # it broke (a PostgreSQL restart): StoreError while down
                self._conn = self.dialect.connect()
            cur = self._conn.cursor()
            try:
                self.dialect.begin(cur, lock_name, write)
                yield cur
                self._conn.commit()
            except BaseException as exc:
                broken = self.dialect.broken(exc)
                if not broken:
                    try:
                        self._conn.rollback()
                    except Exception:
                        broken = True
                if broken:  # the connection itself is gone: connect again next time
                    with contextlib.suppress(Exception):
                        self._conn.close()
                    self._conn = None
                raise
            finally:
                with contextlib.suppress(Exception):
                    cur.close()

    def _many(self, cur: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        bulk = self._bulk.get(sql)
        if bulk is None:
            cur.executemany(self._q(sql), rows)
            return
        for stmt, params in bulk.statements(rows):
            cur.execute(stmt, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._tx(write=False) as cur:
            cur.execute(self._q(sql), params)
            return [tuple(r) for r in cur.fetchall()]

    def close(self) -> None:
        with self._lock, contextlib.suppress(Exception):
            if self._conn is not None:
                self._conn.close()

    # -- writes --------------------------------------------------------------------------
    def apply(self, updates: Sequence[Update], *, writer: str = "", now: float) -> None:
        """Write one batch in one transaction (see FleetStore.apply)."""
        if not updates:
            return
        statements = _Batch.of(updates).statements(writer, now)
        with self._tx() as cur:
            for sql, rows in statements:
                self._many(cur, sql, rows)

    def record_command(self, record: CommandRecord) -> None:
        with self._tx() as cur:
            cur.execute(self._q(COMMAND), _command_row(record))

    def downsample(self, now: float, policy: DownsamplePolicy) -> dict[str, int]:
        """Fold raw -> mid buckets -> old buckets, then drop what is past `keep_s`."""
        from edgetui.fleet.store.downsample import fold_sql

        out: dict[str, int] = {}
        with self._tx("downsample") as cur:
            for name, src, dst, age, width in (
                ("raw_folded", 0, 1, policy.raw_s, policy.mid_bucket_s),
                ("mid_folded", 1, 2, policy.mid_s, policy.old_bucket_s),
            ):
                cutoff = (now - age) // width * width  # whole buckets only
                insert, delete = fold_sql(self.dialect.bucket(width), src, dst)
                cur.execute(self._q(insert), (src, cutoff))
                cur.execute(self._q(delete), (src, cutoff))
                out[name] = max(cur.rowcount, 0)
            out["expired"] = 0
            if policy.keep_s > 0:
                cur.execute(self._q("DELETE FROM telemetry WHERE ts < ?"), (now - policy.keep_s,))
                out["expired"] = max(cur.rowcount, 0)
                cur.execute(self._q("DELETE FROM audit WHERE received < ?"), (now - policy.keep_s,))
        return out

    # -- reads ---------------------------------------------------------------------------
    def devices(self, *, changed_since: float | None = None) -> list[DeviceState]:
        sql = f"SELECT {', '.join(DEVICE_COLUMNS)} FROM devices"
        params: tuple[Any, ...] = ()
        if changed_since is not None:
            sql += " WHERE updated_at > ?"
            params = (changed_since,)
        return [DeviceState(*r) for r in self._rows(sql + " ORDER BY device_id", params)]

    def device(self, device_id: str) -> DeviceState | None:
        sql = f"SELECT {', '.join(DEVICE_COLUMNS)} FROM devices WHERE device_id = ?"
        rows = self._rows(sql, (device_id,))
        return DeviceState(*rows[0]) if rows else None

    def alerts(self, device_id: str) -> list[AlertRecord]:
        rows = self._rows(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE device_id = ? "
            "ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, "
            "at DESC, alert_key",
            (device_id,),
        )
        out = []
        for d, key, name, state, sev, value, summary, labels, since, at in rows:
            out.append(
                AlertRecord(d, key, name, state, sev, value, summary, json.loads(labels), since, at)
            )
        return out

    def telemetry(self, device_id: str, *, since: float | None = None) -> list[TelemetryPoint]:
        sql = f"SELECT {POINT_COLUMNS} FROM telemetry WHERE device_id = ?"
        params: tuple[Any, ...] = (device_id,)
        if since is not None:
            sql += " AND ts >= ?"
            params += (since,)
        return [TelemetryPoint(*r) for r in self._rows(sql + " ORDER BY ts, tier", params)]

    def commands(self, device_id: str, *, limit: int = 50) -> list[CommandRecord]:
        rows = self._rows(
            f"SELECT {COMMAND_COLUMNS} FROM commands WHERE device_id = ? "
            "ORDER BY updated_at DESC, command_id LIMIT ?",
            (device_id, limit),
        )
        return [CommandRecord(*r) for r in rows]

    def summary(self) -> FleetSummary:
        s = FleetSummary(engine=self.engine)
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT COUNT(*), "
                "SUM(CASE WHEN status = 'online' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status = 'offline' THEN 1 ELSE 0 END), "
                "SUM(alerts_critical), SUM(alerts_warning), MAX(last_seen) FROM devices"
            )
            total, online, offline, crit, warn, last = cur.fetchone()
            s.devices, s.online, s.offline = int(total), int(online or 0), int(offline or 0)
            s.unknown = s.devices - s.online - s.offline
            s.alerts = {"critical": int(crit or 0), "warning": int(warn or 0)}
            s.last_seen = last
            s.by_type = _counts(cur, "SELECT device_type, COUNT(*) FROM devices GROUP BY 1")
            s.by_release = _counts(cur, "SELECT release, COUNT(*) FROM devices GROUP BY 1")
            tiers = _counts(cur, "SELECT tier, COUNT(*) FROM telemetry GROUP BY 1")
            s.telemetry_rows = {
                name: tiers.get(str(t), 0) for t, name in enumerate(("raw", "mid", "old"))
            }
            s.commands = _counts(cur, "SELECT state, COUNT(*) FROM commands GROUP BY 1")
        return s


def _counts(cur: Any, sql: str) -> dict[str, int]:
    cur.execute(sql)
    return {("unknown" if k is None else str(k)): int(n) for k, n in cur.fetchall()}


def _command_row(c: CommandRecord) -> tuple[Any, ...]:
    """A command record as COMMAND's parameters: its fields, in their order."""
    return dataclasses.astuple(c)


@dataclass
class _Batch:
    """One batch's updates sorted by kind, and when each device was last heard."""

    seen: dict[str, float | None] = field(default_factory=dict)
    statuses: list[StatusUpdate] = field(default_factory=list)
    telemetry: list[TelemetryUpdate] = field(default_factory=list)
    alerts: list[Any] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    audits: list[Any] = field(default_factory=list)
    retrain: list[tuple[Any, ...]] = field(default_factory=list)

    @classmethod
    def of(cls, updates: Sequence[Update]) -> _Batch:
        b = cls()
        for u in updates:
            if isinstance(u, StatusUpdate):
                b.statuses.append(u)
                heard = u.at if u.status == DeviceStatus.ONLINE else None  # the will: the broker's
                dev = u.device_id
            elif isinstance(u, TelemetryUpdate):
                b.telemetry.append(u)
                heard, dev = u.received, u.device_id
            elif isinstance(u, AlertUpdate):
                b.alerts.append(u.record)
                heard, dev = u.received, u.record.device_id
            elif isinstance(u, CommandUpdate):
                b.commands.append(u.record)
                heard, dev = u.received, u.record.device_id
            elif isinstance(u, RetrainUpdate):
                b.retrain.extend(retrain_row(s) for s in u.samples)
                heard, dev = u.received, u.device_id
            else:
                b.audits.append(u)
                heard, dev = u.received, u.device_id
            prev = b.seen.get(dev)
            b.seen[dev] = heard if prev is None else max(prev, heard or prev)
        return b

    def statements(self, writer: str, now: float) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """(statement, rows) in the order they are written: only the newest status, state
        and alert per device (and key) and the best result per command."""
        status = _latest(self.statuses, lambda s: s.device_id, lambda s: s.at)
        newest = _latest(self.telemetry, lambda t: t.device_id, lambda t: t.ts)
        alert = _latest(self.alerts, lambda a: (a.device_id, a.key), lambda a: a.at or 0.0)
        # A device's "replayed" refusal never beats a real result (see COMMAND's guard), so
        # within a batch too it is kept only for a command with nothing else.
        command = _latest(
            self.commands,
            lambda c: (c.command_id, c.device_id),
            lambda c: (c.detail != "replayed", c.updated_at or 0.0),
        )
        state_rows = [
            (*(getattr(t, c) for c in TELEMETRY_STATE), t.ts, writer or None, d, t.ts)
            for d, t in sorted(newest.items())
        ]
        return [
            (TOUCH, [(d, self.seen[d], now) for d in sorted(self.seen)]),
            (STATUS, [(s.status, s.at, d, s.at) for d, s in sorted(status.items())]),
            (TELEMETRY_ROW, state_rows),
            (
                TELEMETRY_POINT,
                [(t.device_id, t.ts, *(getattr(t, c) for c in SERIES)) for t in self.telemetry],
            ),
            (ALERT, [_alert_row(d, k, a) for (d, k), a in sorted(alert.items())]),
            (ALERT_COUNTS, [(d,) for d in sorted({d for d, _ in alert})]),
            (COMMAND, [_command_row(c) for _, c in sorted(command.items())]),
            (AUDIT, [(a.device_id, a.received, a.body) * 2 for a in self.audits]),
            (RETRAIN_INSERT, self.retrain),
        ]


def _alert_row(device_id: str, key: str, a: Any) -> tuple[Any, ...]:
    """An alert record as ALERT's parameters."""
    labels = json.dumps(a.labels, sort_keys=True)
    return (device_id, key, a.name, a.state, a.severity, a.value, a.summary, labels, a.since, a.at)
