"""The doctor as a runtime part: `doctor.report` diagnoses the latest snapshot with the
device's runbooks (what the dashboard's What's wrong panel shows). No section: everything it
says is read from the other parts' sections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edgetui.config import Config
from edgetui.doctor.catalog import load_catalog
from edgetui.doctor.diagnose import diagnose
from edgetui.models.serde import to_dict


class DoctorService:
    """`doctor.report`: the `DoctorReport` of the latest snapshot, as JSON."""

    name = "doctor"

    def __init__(
        self, config: Config, state_dir: Path, latest: Callable[[], dict[str, Any] | None]
    ) -> None:
        self.config, self.state_dir, self.latest = config, Path(state_dir), latest

    async def start(self) -> None:
        """Nothing to start: the runbooks are read on each report (a site may edit them)."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def methods(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {"doctor.report": self.m_report}

    async def m_report(self, _: dict[str, Any]) -> dict[str, Any]:
        doc = self.latest()
        if doc is None:
            doc = {}
        books, errors = await asyncio.to_thread(load_catalog, self.config, self.state_dir)
        return to_dict(diagnose(doc, books, errors))
