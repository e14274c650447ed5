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

from services.kit import deadline, errors

DEFAULT_LOCK_WAIT_S = 30  # without a caller's deadline: how long a transaction waits for a lock
READ_ONLY = "aeroalpes_read_only"  # execution option of a read-only unit of work's connection
LATE_COMMIT = "el plazo de la llamada venció antes de confirmar"


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
        engine = sa.create_engine(
            url, pool_pre_ping=True, pool_size=64, max_overflow=64, hide_parameters=True
        )
        sa.event.listen(engine, "begin", _mysql_on_begin)
        return engine
    # hide_parameters: an error's text (logged with its traceback) never carries row values
    # such as e-mails or cédulas.
    # The same pool size as above: past the default 5 (+10 overflow) each checkout opened a new
    # file connection (WAL and PRAGMAs included) and closed it after use, and past 15 a
    # thread queued for one.
    on_file = url.database not in (None, "", ":memory:")  # an in-memory database has no pool
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        hide_parameters=True,
        **({"pool_size": 64, "max_overflow": 64} if on_file else {}),
    )
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event own transactions; WAL lets readers run beside a writer.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")
    dbapi_connection.execute("PRAGMA busy_timeout=30000")


def _lock_wait_s() -> float:
    """A transaction waits for locks no longer than its caller still waits for the answer."""
    left = deadline.remaining()
    return DEFAULT_LOCK_WAIT_S if left is None else max(0.0, min(left, DEFAULT_LOCK_WAIT_S))


def _set_once(connection: sa.Connection, name: str, value: int, statement: str) -> None:
    """Runs ``statement`` only when the connection's setting differs (saves a round trip)."""
    info = connection.connection.info
    if info.get(name) != value:
        connection.exec_driver_sql(statement)
        info[name] = value


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # Both statements go straight to the driver's connection: through SQLAlchemy's execute they
    # were 5-6 % of a participant's CPU (py-spy, issue #15), since the wait below follows each
    # caller's deadline and so was set again on nearly every transaction.
    driver = connection.connection.driver_connection
    info = connection.connection.info
    wait_ms = int(_lock_wait_s() * 1000)
    if info.get("busy_timeout") != wait_ms:
        driver.execute(f"PRAGMA busy_timeout={wait_ms}")  # type: ignore[union-attr]
        info["busy_timeout"] = wait_ms
    # A pure read needs no lock: in WAL mode it reads a snapshot beside the writer. A writer
    # takes the write lock up front (IMMEDIATE): SQLite ignores FOR UPDATE, so this is how
    # read-check-write sequences stay serial, and lock upgrades cannot deadlock.
    begin = "BEGIN" if connection.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
    dbapi = connection.dialect.loaded_dbapi
    try:
        driver.execute(begin)  # type: ignore[union-attr]
    except dbapi.Error as error:
        # As SQLAlchemy's own execute would raise it ("database is locked": OperationalError),
        # so callers still see one kind of database error.
        raise sa.exc.DBAPIError.instance(
            begin, None, error, dbapi.Error, hide_parameters=True, dialect=connection.dialect
        ) from error


def _mysql_on_begin(connection: sa.Connection) -> None:
    # InnoDB counts lock waits in whole seconds (1 at least); a wait that ends answers 1205.
    wait_s = max(1, round(_lock_wait_s()))
    _set_once(
        connection,
        "lock_wait",
        wait_s,
        f"SET SESSION innodb_lock_wait_timeout={wait_s}",
    )


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
    """One transaction on one pooled connection (``session``): rolls back on exit unless
    ``commit()`` was called. SQLAlchemy Core, no ORM Session: every statement here is Core,
    and the Session's layer over it cost ~15 % of a participant's CPU per call (issue #15)."""

    def __init__(self, connect: Callable[[], sa.Connection]) -> None:
        self._connect = connect
        self._read_only = False
        self.session: sa.Connection
        self._transaction: sa.RootTransaction

    def read_only(self) -> UnitOfWork:
        """Makes this a transaction that only reads: on SQLite it takes no write lock (a
        profile showed reads waiting behind writers for it); ``commit()`` is refused."""
        self._read_only = True
        return self

    def __enter__(self) -> UnitOfWork:
        """Begins at once (on SQLite a writer takes the write lock here, waiting for it no
        longer than the caller's deadline)."""
        self.session = self._connect()
        try:
            if self._read_only:
                self.session.execution_options(**{READ_ONLY: True})
            self._transaction = self.session.begin()
        except BaseException:
            self.session.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.close()  # what was not committed is rolled back

    def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if deadline.passed():
            # The caller stopped waiting: it will retry or compensate; don't add an effect now.
            raise errors.DeadlineTooShort(LATE_COMMIT)
        self._transaction.commit()
        # Closed at once: a statement after the commit raises, where it would begin a new
        # transaction that the exit then rolls back without a word.
        self.session.close()


def session_factory(engine: Engine) -> Callable[[], sa.Connection]:
    """What a UnitOfWork opens: a connection from the engine's pool (the database session)."""
    return engine.connect


def db_now(session: sa.Connection, plus_s: float = 0.0) -> sa.ColumnElement[Any]:
    """The database server's UTC time (plus ``plus_s``) as SQL: one clock for every process
    that compares it (leases), whatever each machine's own clock says."""
    micros = int(plus_s * 1_000_000)
    if session.dialect.name == "sqlite":
        # The text form UtcDateTime stores on SQLite, so comparisons stay textual and right.
        return sa.func.strftime("%Y-%m-%d %H:%M:%f000", "now", f"{micros / 1_000_000:+.6f} seconds")
    return sa.literal_column(f"UTC_TIMESTAMP(6) + INTERVAL {micros} MICROSECOND")
