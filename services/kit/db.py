"""Database access: URL per context, engine, UTC datetimes, and a unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def database_url(server_url: str | None, database: str, var_dir: Path) -> URL:
    """SQLite file ``var_dir/<database>.db`` by default; else ``database`` on the given server."""
    if not server_url:
        return make_url(f"sqlite:///{var_dir / f'{database}.db'}")
    url = make_url(server_url)
    if url.get_backend_name() == "sqlite":
        return url
    return url.set(database=database)


def ensure_database(url: URL) -> None:
    """Creates the database on a MySQL/MariaDB server if missing (SQLite creates files itself)."""
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        return
    server = sa.create_engine(url._replace(database=None), pool_pre_ping=True)
    try:
        with server.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE DATABASE IF NOT EXISTS `{url.database}` CHARACTER SET utf8mb4"
            )
    finally:
        server.dispose()


def create_engine(url: URL | str) -> Engine:
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        # A pool as large as the busiest service's threads: an overflow connection is opened and
        # thrown away per use, and opening one costs a TLS context (the saga profile showed it).
        return sa.create_engine(url, pool_pre_ping=True, pool_size=64, max_overflow=64)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event own transactions; WAL lets readers run beside a writer.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    dbapi_connection.execute("PRAGMA busy_timeout=30000")


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # IMMEDIATE takes the write lock up front: SQLite ignores FOR UPDATE, so this is how
    # read-check-write sequences stay serial, and lock upgrades cannot deadlock.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, microseconds kept on MariaDB too."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def big_id() -> sa.types.TypeEngine[int]:
    """A BIGINT primary key that still autoincrements on SQLite (which needs INTEGER)."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UnitOfWork:
    """One transaction: rolls back on exit unless ``commit()`` was called."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.session.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()


def session_factory(engine: Engine) -> Callable[[], Session]:
    return sessionmaker(engine, expire_on_commit=False, autobegin=False)
