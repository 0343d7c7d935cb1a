"""The doctor as a runtime part: after each tick's alerts it diagnoses the snapshot with the
device's runbooks, and the report joins the snapshot as the `doctor` section (what the
dashboard's What's wrong panel shows); `doctor.report` answers the same on request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.config import Config
from edgetui.doctor.catalog import load_catalog, runbook_dirs
from edgetui.doctor.diagnose import diagnose
from edgetui.doctor.runbooks import Runbook
from edgetui.models.doctor import DoctorReport

# How often the runbook folders' file stamps are looked at: a site may edit a runbook while
# the device runs, and a stat of two small folders every few seconds costs nothing.
RESCAN_S = 5.0


def _stamps(dirs: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """(file, mtime, size) of every runbook file: a change in any means load again."""
    out = []
    for d in dirs:
        try:
            files = sorted(d.glob("*.toml"))
        except OSError:
            continue
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            out.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(out)


class DoctorService:
    """Keeps the device's runbooks loaded (again when a file changes) and the latest report."""

    name = "doctor"

    def __init__(
        self, config: Config, state_dir: Path, latest: Callable[[], dict[str, Any] | None]
    ) -> None:
        self.config, self.state_dir, self.latest = config, Path(state_dir), latest
        self.books: dict[tuple[str, str], Runbook] = {}
        self.errors: list[str] = []
        self.loads = 0  # how many times the runbooks were read (a test counts the reloads)
        self.report: DoctorReport | None = None
        self._stamps: tuple[tuple[str, int, int], ...] | None = None
        self._scanned = 0.0

    async def start(self) -> None:
        await self._refresh_books(force=True)

    async def stop(self) -> None:
        """Nothing to stop."""

    async def _refresh_books(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._scanned < RESCAN_S:
            return
        self._scanned = now
        stamps = await asyncio.to_thread(_stamps, runbook_dirs(self.state_dir))
        if not force and stamps == self._stamps:
            return
        self.books, self.errors = await asyncio.to_thread(load_catalog, self.config, self.state_dir)
        self._stamps, self.loads = stamps, self.loads + 1

    async def judge(self, doc: dict[str, Any]) -> DoctorReport:
        """Diagnose one status document (this tick's, alerts included); kept as `report`."""
        await self._refresh_books()
        self.report = diagnose(doc, self.books, self.errors)
        return self.report

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {"doctor.report": self.m_report}

    async def m_report(self, _: dict[str, Any]) -> DoctorReport:
        """The report of the latest tick (or of the latest snapshot, before the first)."""
        if self.report is not None:
            return self.report
        return await self.judge(self.latest() or {})
