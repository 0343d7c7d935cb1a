"""The fleet store under test: every store test runs against both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edgetui.fleet.store import FleetStore, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each engine: a SQLite file, or a new database on a real PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "fleet.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[FleetStore]:
    s = open_store(store_url, tmp_path)
    try:
        yield s
    finally:
        s.close()
