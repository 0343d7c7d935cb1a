"""The persistent replay window: the ids of accepted commands, kept until they expire.

A command is recorded (written and fsynced) before it runs, so a crash right after cannot
let the same document run twice; an id is forgotten only once its command has expired,
when its signature no longer passes anyway. The window is bounded: when it is full a new
command is refused ("busy") rather than an unexpired id forgotten.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from edgetui.durable import atomic_write

log = logging.getLogger("edgetui.remote")


class ReplayWindow:
    """Seen command ids -> their expiry (Unix time), in a JSON file in the state dir."""

    def __init__(self, path: Path, limit: int = 10000) -> None:
        self.path = Path(path)
        self.limit = limit
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            seen = doc["seen"]
            self._seen = {str(k): float(v) for k, v in seen.items()}
        except FileNotFoundError:
            self._seen = {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # Fail closed: a window we cannot read could hide a replay. Keep the file for a
            # technician and refuse every command until it is fixed or removed.
            raise ValueError(
                f"replay window {self.path} is unreadable ({exc}); move it aside to accept "
                "commands again"
            ) from None

    def __contains__(self, command_id: str) -> bool:
        with self._lock:
            return command_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def record(self, command_id: str, expires: datetime) -> bool:
        """Remember an id (durably) until `expires`; False if it was already there or the
        window is full. Blocking (an fsync): call it from a thread."""
        now = datetime.now(UTC).timestamp()
        with self._lock:
            if command_id in self._seen:
                return False
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            if len(self._seen) >= self.limit:
                return False
            self._seen[command_id] = expires.timestamp()
            try:
                atomic_write(self.path, json.dumps({"seen": self._seen}).encode())
            except OSError:
                del self._seen[command_id]
                raise
            return True
