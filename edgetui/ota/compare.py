"""Before/after of an update: the validation suite on the running slot just before the update
is applied, and on the trial slot in its health check, kept in `<state>/ota/validation.json`
so that the comparison survives the restart between the two ("golden 12/12 -> 11/12, p95
31 -> 33 ms")."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from edgetui.durable import atomic_write

log = logging.getLogger(__name__)


def _golden(report: dict[str, Any] | None) -> str:
    golden = (report or {}).get("golden") or {}
    if not golden.get("total"):
        return "n/a"
    return f"{golden.get('passed')}/{golden.get('total')}"


def _p95(report: dict[str, Any] | None) -> str:
    p95 = ((report or {}).get("latency") or {}).get("p95_ms")
    return f"{p95:.0f}" if isinstance(p95, int | float) else "n/a"


def summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    """One line, e.g. "golden 12/12 -> 11/12, p95 31 -> 33 ms" (None: nothing measured)."""
    if before is None and after is None:
        return None
    if after is None:
        return f"golden {_golden(before)}, p95 {_p95(before)} ms (before the update)"
    return f"golden {_golden(before)} -> {_golden(after)}, p95 {_p95(before)} -> {_p95(after)} ms"


class Comparison:
    """The stored before/after of the latest update (`from_version` -> `to_version`)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "ota" / "validation.json"

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("OTA: %s unreadable, ignored: %s", self.path, exc)
            return None
        return data if isinstance(data, dict) else None

    def save(self, data: dict[str, Any]) -> None:
        data["summary"] = summary(data.get("before"), data.get("after"))
        atomic_write(self.path, json.dumps(data, indent=1).encode("utf-8"))

    def start(self, before: dict[str, Any] | None, from_v: str | None, to_v: str) -> None:
        """A new update: its "before" (the running slot), no "after" yet."""
        self.save({"from_version": from_v, "to_version": to_v, "before": before, "after": None})

    def finish(self, after: dict[str, Any] | None, version: str | None) -> None:
        """The trial slot's "after" (only for the update that was started)."""
        data = self.load() or {"from_version": None, "to_version": version, "before": None}
        if data.get("to_version") not in (None, version):
            data = {"from_version": None, "to_version": version, "before": None}
        data["after"] = after
        self.save(data)
