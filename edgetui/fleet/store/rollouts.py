"""The rollout half of the SQL fleet store: rollouts, their executions, the runner's lease.

Mixed into `SqlFleetStore` (it uses its `_tx`, `_q` and `_rows`). The lease makes one runner
the owner of a rollout at a time, on both engines: a conditional UPDATE that succeeds only
when the lease is free, expired or already ours, so two fleet processes sharing PostgreSQL
never run the same rollout, and a runner that died gives it up when its lease expires.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from edgetui.fleet.records import CommandRecord
from edgetui.fleet.rollouts.records import Execution, RolloutRecord, RolloutSpec

ROLLOUT_COLUMNS = (
    "rollout_id, spec, state, wave, halt_reason, created_at, updated_at, wave_done, "
    "lease_owner, lease_until"
)
EXEC_FIELDS = (
    "rollout_id",
    "device_id",
    "wave",
    "state",
    "reason",
    "attempt",
    "command_id",
    "sent_at",
    "installed_at",
    "committed_at",
    "finished_at",
    "rollback_id",
    "rollback_state",
)
EXEC_COLUMNS = ", ".join(EXEC_FIELDS)
EXEC_UPSERT = (
    f"INSERT INTO executions ({EXEC_COLUMNS}) VALUES ({', '.join('?' for _ in EXEC_FIELDS)}) "
    "ON CONFLICT (rollout_id, device_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in EXEC_FIELDS[2:])
)
ROLLOUT_INSERT = (
    f"INSERT INTO rollouts ({ROLLOUT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
)
# A command is RECORDED before it is published and SENT once the broker acknowledged it; a
# device's own result (QUEUED, SUCCEEDED, ...) replaces either, and the mark never replaces
# a device's result that arrived first.
COMMAND_RECORDED = (
    "INSERT INTO commands (command_id, device_id, command, state, detail, rollout_id, "
    "issued_at, updated_at) VALUES (?, ?, ?, 'RECORDED', NULL, ?, ?, NULL) "
    "ON CONFLICT (command_id, device_id) DO NOTHING"
)
COMMAND_PUBLISHED = (
    "UPDATE commands SET state = 'SENT' "
    "WHERE command_id = ? AND device_id = ? AND state = 'RECORDED'"
)


def _rollout(row: tuple[Any, ...]) -> RolloutRecord:
    return RolloutRecord(
        rollout_id=row[0],
        spec=RolloutSpec.from_json(row[1]),
        state=row[2],
        wave=int(row[3]),
        halt_reason=row[4],
        created_at=float(row[5]),
        updated_at=float(row[6]),
        wave_done=[float(x) for x in json.loads(row[7])],
        lease_owner=row[8],
        lease_until=None if row[9] is None else float(row[9]),
    )


def _exec_row(e: Execution) -> tuple[Any, ...]:
    return tuple(getattr(e, f) for f in EXEC_FIELDS)


def _exec_rows(executions: Sequence[Execution]) -> list[tuple[Any, ...]]:
    """One row per (rollout, device), the last one given winning (as row by row would):
    PostgreSQL's set-based upsert cannot touch a row twice in one statement."""
    return list({(e.rollout_id, e.device_id): _exec_row(e) for e in executions}.values())


class RolloutSql:
    """Rollout methods of the fleet store (see FleetStore for the contract)."""

    _tx: Any
    _q: Any
    _rows: Any
    _many: Any  # executemany, or one set-based statement per 5,000 rows on PostgreSQL

    def create_rollout(self, rollout: RolloutRecord, executions: Sequence[Execution]) -> None:
        """Write a new rollout and its executions in one transaction."""
        with self._tx() as cur:
            cur.execute(
                self._q(ROLLOUT_INSERT),
                (
                    rollout.rollout_id,
                    rollout.spec.to_json(),
                    rollout.state,
                    rollout.wave,
                    rollout.halt_reason,
                    rollout.created_at,
                    rollout.updated_at,
                    json.dumps(rollout.wave_done),
                ),
            )
            self._many(cur, EXEC_UPSERT, _exec_rows(executions))

    def rollout(self, rollout_id: str) -> RolloutRecord | None:
        rows = self._rows(
            f"SELECT {ROLLOUT_COLUMNS} FROM rollouts WHERE rollout_id = ?", (rollout_id,)
        )
        return _rollout(rows[0]) if rows else None

    def rollouts(self) -> list[RolloutRecord]:
        """Every rollout, newest first."""
        rows = self._rows(f"SELECT {ROLLOUT_COLUMNS} FROM rollouts ORDER BY created_at DESC")
        return [_rollout(r) for r in rows]

    def update_rollout(self, rollout: RolloutRecord) -> None:
        """Write the rollout's state, wave, halt reason and wave times."""
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "UPDATE rollouts SET state = ?, wave = ?, halt_reason = ?, updated_at = ?, "
                    "wave_done = ? WHERE rollout_id = ?"
                ),
                (
                    rollout.state,
                    rollout.wave,
                    rollout.halt_reason,
                    rollout.updated_at,
                    json.dumps(rollout.wave_done),
                    rollout.rollout_id,
                ),
            )

    def set_rollout_state(
        self, rollout_id: str, state: str, *, now: float, only_from: Sequence[str] = ()
    ) -> bool:
        """Set a rollout's state (`pause`, `resume`, `abort`), only from `only_from` when
        given; False when the rollout is not in one of them (or does not exist)."""
        sql = "UPDATE rollouts SET state = ?, updated_at = ? WHERE rollout_id = ?"
        params: list[Any] = [state, now, rollout_id]
        if only_from:
            sql += f" AND state IN ({', '.join('?' for _ in only_from)})"
            params += list(only_from)
        with self._tx() as cur:
            cur.execute(self._q(sql), tuple(params))
            return bool(cur.rowcount)

    def claim_rollout(self, rollout_id: str, owner: str, *, now: float, lease_s: float) -> bool:
        """Take or renew the runner's lease; False when another live runner holds it."""
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "UPDATE rollouts SET lease_owner = ?, lease_until = ? WHERE rollout_id = ? "
                    "AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)"
                ),
                (owner, now + lease_s, rollout_id, owner, now),
            )
            return bool(cur.rowcount)

    def release_rollout(self, rollout_id: str, owner: str) -> None:
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "UPDATE rollouts SET lease_owner = NULL, lease_until = NULL "
                    "WHERE rollout_id = ? AND lease_owner = ?"
                ),
                (rollout_id, owner),
            )

    def executions(self, rollout_id: str) -> list[Execution]:
        rows = self._rows(
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE rollout_id = ? ORDER BY wave, device_id",
            (rollout_id,),
        )
        return [Execution(*r) for r in rows]

    def device_executions(self, device_id: str) -> list[Execution]:
        """One device's executions in every rollout (the console's device view)."""
        rows = self._rows(
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE device_id = ? ORDER BY rollout_id",
            (device_id,),
        )
        return [Execution(*r) for r in rows]

    def save_executions(self, executions: Sequence[Execution]) -> None:
        """Write these executions as they are now, in one transaction."""
        if not executions:
            return
        with self._tx() as cur:
            self._many(cur, EXEC_UPSERT, _exec_rows(executions))

    def record_sends(self, sends: Sequence[tuple[Execution, CommandRecord]]) -> None:
        """Before publishing: each execution as sent and its command record (RECORDED), in
        one transaction. The records are what keeps a restarted runner from making a command
        again, and what tells it which ones the broker never acknowledged."""
        if not sends:
            return
        with self._tx() as cur:
            self._many(cur, EXEC_UPSERT, _exec_rows([e for e, _ in sends]))
            self._many(
                cur,
                COMMAND_RECORDED,
                [
                    (c.command_id, c.device_id, c.command, c.rollout_id, c.issued_at)
                    for _, c in sends
                ],
            )

    def mark_published(self, commands: Sequence[tuple[str, str]]) -> None:
        """(command_id, device_id) pairs the broker acknowledged: RECORDED -> SENT."""
        if not commands:
            return
        with self._tx() as cur:
            self._many(cur, COMMAND_PUBLISHED, [tuple(c) for c in commands])

    def rollout_commands(self, rollout_id: str) -> dict[str, tuple[str | None, str | None]]:
        """command_id -> (state, detail) of the rollout's commands."""
        rows = self._rows(
            "SELECT command_id, state, detail FROM commands WHERE rollout_id = ?", (rollout_id,)
        )
        return {r[0]: (r[1], r[2]) for r in rows}
