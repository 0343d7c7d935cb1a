"""The fleet store: one interface (`FleetStore`), two engines. SQLite is the embedded
default (`<state>/fleet.db`); PostgreSQL (`postgresql://user:pw@host:port/db`) is the shared
one when several fleet processes split a fleet.

Offers `FleetStore`, `StoreError`, `DownsamplePolicy`, `open_store`.
"""

from __future__ import annotations

from pathlib import Path

from edgetui.fleet.store.base import DownsamplePolicy, FleetStore, StoreError

__all__ = ["DownsamplePolicy", "FleetStore", "StoreError", "open_store", "store_where"]


def store_where(spec: str | None, state_dir: Path) -> str:
    """The store named by `--store` / `[fleet] store`, resolved (for messages)."""
    if not spec:
        return str(state_dir / "fleet.db")
    if spec.startswith("sqlite://"):
        return spec.removeprefix("sqlite://")
    return spec


def open_store(spec: str | None, state_dir: Path) -> FleetStore:
    """Open (creating tables as needed) the store `spec`: empty for `<state>/fleet.db`, a
    path or `sqlite:///path`, or `postgresql://...`. Raises StoreError in one line."""
    from edgetui.fleet.store.dialect import PostgresDialect, SqliteDialect
    from edgetui.fleet.store.sql import SqlFleetStore

    where = store_where(spec, state_dir)
    if where.startswith(("postgresql://", "postgres://")):
        return SqlFleetStore(PostgresDialect(where))
    if "://" in where:
        raise StoreError(
            f"fleet store {where!r}: expected a path, sqlite:///path or postgresql://...",
            usage=True,
        )
    return SqlFleetStore(SqliteDialect(Path(where)))
