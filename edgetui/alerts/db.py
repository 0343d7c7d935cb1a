"""The alert database (`alerts.db` beside the outbox's file, WAL): active alerts, the
transition history and silences, so a firing alert is still firing after a restart and is
not fired twice. Blocking sqlite3; the engine calls it through asyncio.to_thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from edgetui.alerts.state import Alert, iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_active (
    key TEXT PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, state TEXT NOT NULL,
    severity TEXT NOT NULL, value REAL, summary TEXT NOT NULL, active_at REAL NOT NULL,
    fired_at REAL, last_true REAL NOT NULL, acknowledged INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, name TEXT NOT NULL,
    labels TEXT NOT NULL, state TEXT NOT NULL, severity TEXT NOT NULL, value REAL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_history_at ON alert_history (at);
CREATE TABLE IF NOT EXISTS alert_silence (
    name TEXT PRIMARY KEY, until REAL NOT NULL, comment TEXT NOT NULL, created REAL NOT NULL
);
"""
HISTORY_KEEP = 10_000  # rows; older transitions are pruned


class AlertDB:
    """Blocking access to the alert tables; one connection guarded by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a transition is durable once recorded
        db.execute("PRAGMA busy_timeout=10000")
        db.executescript(SCHEMA)
        self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("alert database is not open")
        return self._db

    # -- active alerts ------------------------------------------------------------------
    def load_active(self) -> list[Alert]:
        with self._lock:
            rows = self._conn().execute(
                "SELECT key, name, labels, state, severity, value, summary, active_at, "
                "fired_at, last_true, acknowledged FROM alert_active"
            )
            return [
                Alert(
                    key=r[0],
                    name=r[1],
                    labels=json.loads(r[2]),
                    state=r[3],
                    severity=r[4],
                    value=r[5],
                    summary=r[6],
                    active_at=r[7],
                    fired_at=r[8],
                    last_true=r[9],
                    acknowledged=bool(r[10]),
                )
                for r in rows.fetchall()
            ]

    def record(self, changes: list[tuple[Alert, str, float]]) -> None:
        """One transaction for a tick's transitions: upsert or delete the active row and
        append a history row for each (alert, transition, at)."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                for alert, transition, at in changes:
                    if alert.state in ("pending", "firing"):
                        self._upsert(db, alert)
                    else:
                        db.execute("DELETE FROM alert_active WHERE key = ?", (alert.key,))
                    db.execute(
                        "INSERT INTO alert_history (at, name, labels, state, severity, value, "
                        "summary) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            at,
                            alert.name,
                            json.dumps(alert.labels),
                            transition,
                            alert.severity,
                            alert.value,
                            alert.summary,
                        ),
                    )
                db.execute(
                    "DELETE FROM alert_history WHERE id <= (SELECT MAX(id) FROM alert_history) - ?",
                    (HISTORY_KEEP,),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    @staticmethod
    def _upsert(db: sqlite3.Connection, a: Alert) -> None:
        db.execute(
            "INSERT OR REPLACE INTO alert_active (key, name, labels, state, severity, value, "
            "summary, active_at, fired_at, last_true, acknowledged) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.key,
                a.name,
                json.dumps(a.labels),
                a.state,
                a.severity,
                a.value,
                a.summary,
                a.active_at,
                a.fired_at,
                a.last_true,
                int(a.acknowledged),
            ),
        )

    def save_ack(self, alerts: list[Alert]) -> None:
        with self._lock:
            db = self._conn()
            for a in alerts:
                db.execute(
                    "UPDATE alert_active SET acknowledged = ? WHERE key = ?",
                    (int(a.acknowledged), a.key),
                )

    # -- history ------------------------------------------------------------------------
    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """Transitions, newest first."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT at, name, labels, state, severity, value, summary FROM alert_history "
                    "ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [
            {
                "at": iso(r[0]),
                "name": r[1],
                "labels": json.loads(r[2]),
                "state": r[3],
                "severity": r[4],
                "value": r[5],
                "summary": r[6],
            }
            for r in rows
        ]

    # -- silences -----------------------------------------------------------------------
    def load_silences(self) -> dict[str, tuple[float, str, float]]:
        with self._lock:
            rows = self._conn().execute("SELECT name, until, comment, created FROM alert_silence")
            return {r[0]: (r[1], r[2], r[3]) for r in rows.fetchall()}

    def save_silence(self, name: str, until: float, comment: str, created: float) -> None:
        with self._lock:
            self._conn().execute(
                "INSERT OR REPLACE INTO alert_silence (name, until, comment, created) "
                "VALUES (?, ?, ?, ?)",
                (name, until, comment, created),
            )

    def delete_silence(self, name: str) -> None:
        with self._lock:
            self._conn().execute("DELETE FROM alert_silence WHERE name = ?", (name,))
