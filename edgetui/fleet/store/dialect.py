"""The two engines' differences, and nothing else: connecting, the float type, the
placeholder, flooring a time into a bucket, and a lock for work only one writer may do."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from edgetui.fleet.store.base import StoreError
from edgetui.fleet.store.schema import SCHEMA_VERSION, statements


class Dialect:
    """What SqlFleetStore needs from an engine."""

    engine = ""
    where = ""
    real = "REAL"

    def connect(self) -> Any:
        raise NotImplementedError

    def translate(self, sql: str) -> str:
        """`?` placeholders into the driver's style."""
        return sql

    def bucket(self, width: float) -> str:
        """An SQL expression: `ts` floored to a multiple of `width` seconds."""
        raise NotImplementedError

    def begin(self, cur: Any, lock_name: str | None, write: bool = True) -> None:
        """Start a transaction (`write`: one that will write); `lock_name` also takes a lock
        only one writer holds."""

    def bulk(self) -> dict[str, Any]:
        """Multi-row replacements of hot statements (generic SQL -> Bulk); none by default."""
        return {}

    def broken(self, exc: BaseException) -> bool:
        """True when `exc` says the connection is lost (the store reconnects next time)."""
        return False

    def _init_schema(self, cur: Any) -> None:
        for stmt in statements(self.real):
            cur.execute(stmt)
        cur.execute(self.translate("SELECT value FROM fleet_meta WHERE key = ?"), ("schema",))
        row = cur.fetchone()
        if row is None:
            cur.execute(
                self.translate("INSERT INTO fleet_meta (key, value) VALUES (?, ?)"),
                ("schema", str(SCHEMA_VERSION)),
            )
        elif int(row[0]) < SCHEMA_VERSION:  # the new tables were just created
            cur.execute(
                self.translate("UPDATE fleet_meta SET value = ? WHERE key = ?"),
                (str(SCHEMA_VERSION), "schema"),
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"fleet store {self.where}: schema version {row[0]} is newer than this "
                f"edgetui's ({SCHEMA_VERSION})"
            )


class SqliteDialect(Dialect):
    """The embedded default: one SQLite file in WAL mode (readers never wait for the writer)."""

    engine = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)

    def connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut loses at most a batch
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            self._init_schema(cur)
            conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"fleet store {self.path}: {exc}") from None
        return conn

    def bucket(self, width: float) -> str:
        return f"(CAST(ts / {float(width)!r} AS INTEGER) * {float(width)!r})"

    def begin(self, cur: Any, lock_name: str | None, write: bool = True) -> None:
        # IMMEDIATE: a writer takes the write lock now, so two processes on one file queue up
        # instead of failing with "database is locked" at the first write. A reader takes
        # none (WAL: it reads a snapshot while the writer writes).
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")


class PostgresDialect(Dialect):
    """The shared engine, through pg8000 (pure Python; see README for why)."""

    engine = "postgresql"
    real = "DOUBLE PRECISION"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port or 5432
        except ValueError:
            raise StoreError(f"fleet store {url!r}: bad port", usage=True) from None
        self.params: dict[str, Any] = {
            "user": unquote(parts.username or query.get("user", "postgres")),
            "password": unquote(parts.password) if parts.password else query.get("password"),
            "database": unquote(parts.path.lstrip("/")) or None,
            "application_name": "edgetui-fleet",
        }
        if "host" in query and query["host"].startswith("/"):  # a Unix socket directory
            self.params["unix_sock"] = f"{query['host']}/.s.PGSQL.{port}"
        else:
            self.params["host"] = parts.hostname or "127.0.0.1"
            self.params["port"] = port
        host = self.params.get("host") or query.get("host")
        self.where = f"postgresql://{host}:{port}/{self.params['database'] or ''}"

    def connect(self) -> Any:
        try:
            import pg8000.dbapi
        except ImportError:
            raise StoreError(
                "the PostgreSQL store needs pg8000: pip install 'edgetui[fleet]'"
            ) from None
        try:
            conn = pg8000.dbapi.connect(timeout=30, **self.params)
            cur = conn.cursor()
            # Two fleet processes starting at once must not race on CREATE TABLE.
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id("schema"),))
            self._init_schema(cur)
            conn.commit()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"fleet store {self.where}: {_one_line(exc)}") from None
        return conn

    def translate(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def bulk(self) -> dict[str, Any]:
        from edgetui.fleet.store.bulk import postgres_bulk

        return postgres_bulk()

    def broken(self, exc: BaseException) -> bool:
        # pg8000 says a lost server with InterfaceError ("network error"), and keeps
        # saying it on that connection after the server is back.
        import pg8000.exceptions

        return isinstance(exc, pg8000.exceptions.InterfaceError | OSError)

    def bucket(self, width: float) -> str:
        return f"(floor(ts / {float(width)!r}) * {float(width)!r})"

    def begin(self, cur: Any, lock_name: str | None, write: bool = True) -> None:
        if lock_name:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(lock_name),))


def _lock_id(name: str) -> int:
    return zlib.crc32(f"edgetui-fleet:{name}".encode())


def _one_line(exc: BaseException) -> str:
    if exc.args and isinstance(exc.args[0], dict):  # pg8000: the server's error fields
        fields = exc.args[0]
        return str(fields.get("M") or fields)
    return " ".join(str(exc).split()) or exc.__class__.__name__
