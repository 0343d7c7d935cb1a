"""The validation database: per model version, its baseline and its drift reference.

One small SQLite file in WAL mode, beside the outbox (`[validation] db_path`, default
`<state>/validation.db`): it survives restarts and power cuts like the rest of the device's
state. Blocking: async callers use asyncio.to_thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from edgetui.models.serde import from_dict, to_dict
from edgetui.models.validation import Baseline

SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline (
    version TEXT PRIMARY KEY, data TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drift_reference (
    version TEXT PRIMARY KEY, data TEXT NOT NULL, recorded_at TEXT NOT NULL);
"""


class ValidationDB:
    """Baselines and drift references keyed by model version."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one connection, used from worker threads in turn
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded baseline survives a power cut
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _get(self, table: str, version: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT data FROM {table} WHERE version = ?", (version,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def _put(self, table: str, version: str, data: dict[str, Any], at: str) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} (version, data, recorded_at) VALUES (?, ?, ?)",
                (version, json.dumps(data, separators=(",", ":")), at),
            )

    def baseline(self, version: str) -> Baseline | None:
        data = self._get("baseline", version)
        return from_dict(Baseline, data) if data else None

    def save_baseline(self, baseline: Baseline) -> None:
        self._put("baseline", baseline.version, to_dict(baseline), baseline.recorded_at)

    def drift_reference(self, version: str) -> dict[str, Any] | None:
        return self._get("drift_reference", version)

    def save_drift_reference(self, version: str, reference: dict[str, Any], at: str) -> None:
        self._put("drift_reference", version, reference, at)
