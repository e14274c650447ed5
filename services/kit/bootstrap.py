"""Composition root shared by every service: config, logging, database, migrations, serving."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy.engine import Engine

from services.kit import metrics, retention, tracing
from services.kit.config import ConfigError, ServiceConfig
from services.kit.db import create_engine, database_url, ensure_database
from services.kit.logs import configure_logging
from services.kit.preflight import PreflightError, is_server, server_version
from services.kit.server import Registration, create_server, serve

log = logging.getLogger(__name__)

MIGRATION_ATTEMPTS = 5
Build = Callable[[ServiceConfig, Engine], Sequence[Registration]]
_on_stop: list[Callable[[], None]] = []


def on_stop(callback: Callable[[], None]) -> None:
    """Runs ``callback`` after the server stopped taking calls (e.g. to stop background work)."""
    _on_stop.append(callback)


def open_database(config: ServiceConfig, migrations: Path) -> Engine:
    """The context's own database, created if missing and migrated to head."""
    from services.kit.migrations import upgrade  # alembic: see migrate_apart

    url = database_url(config.db_url, config.name, config.var_dir)
    ensure_database(url)
    engine = create_engine(url)
    for attempt in range(1, MIGRATION_ATTEMPTS + 1):
        try:
            upgrade(engine, migrations, "alembic_version")
            break
        except sqlalchemy.exc.OperationalError as error:
            # SQLite: the relay, installing its triggers beside a migration, holds the write
            # lock a moment; a transaction upgrading its read lock then fails at once (no wait).
            if "database is locked" not in str(error.orig) or attempt == MIGRATION_ATTEMPTS:
                raise
            log.info("database locked while migrating (attempt %d); trying again", attempt)
            time.sleep(0.2 * attempt)
    log.info("database ready: %s", url.render_as_string(hide_password=True))
    return engine


def _failure(name: str, error: BaseException) -> str | None:
    """The one line a start-up failure is told in, or None for a bug (its traceback then)."""
    if isinstance(error, ConfigError):
        return f"{name}: configuration error: {error}"
    if isinstance(error, OSError):
        return f"{name}: cannot start: {error}"
    if isinstance(error, sqlalchemy.exc.OperationalError):
        return f"{name}: database unavailable: {error.orig}"
    return None


def _die_with(parent: int) -> None:
    """A killed service takes its migrating child with it, as it took its own migration."""
    import ctypes

    prctl = getattr(ctypes.CDLL(None), "prctl", None)  # Linux only
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before that
        os._exit(1)


def migrate_apart(config: ServiceConfig, migrations: Path) -> None:
    """``open_database`` in a forked child, which exits once the database is at head.

    Alembic is needed once, at start, and what it loads stays for the life of the process that
    imported it: mako, pygments and the dialects of every SQL server it knows, about 11 MB of
    Python objects that no unload gives back. In a child they leave with it. Call it before any
    thread starts: a fork copies only the calling thread, and a lock another one held would stay
    held in the child. A failure is told by the child, in the line the service would print."""
    parent = os.getpid()
    sys.stdout.flush()  # else the child would write what this process still buffers, again
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _die_with(parent)
            open_database(config, migrations).dispose()
            code = 0
        except BaseException as error:
            reason = _failure(config.name, error)
            if reason is None:
                traceback.print_exc()
            else:
                print(reason, file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # nothing of the parent's (atexit, pools, buffers) runs twice
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code < 0:
        sys.exit(f"{config.name}: cannot start: migrations ended by signal {-code}")
    if code != 0:
        sys.exit(code)  # the child printed why


def run(
    name: str,
    default_port: int,
    migrations: Path,
    build: Build,
    max_workers: int = 32,
    reflection_names: Sequence[str] = (),
) -> None:
    """``python -m services.<name>``: exits with a one-line reason when it cannot start."""
    try:
        config = ServiceConfig.from_env(name, default_port)
    except ConfigError as error:
        sys.exit(f"{name}: configuration error: {error}")
    configure_logging(name, config.log_level)
    if is_server(config.db_url):  # started alone (compose, Kubernetes): say what is wrong first
        try:
            log.info("database server %s", server_version(config.db_url or ""))
        except PreflightError as error:
            sys.exit(f"{name}: cannot start: {error}")
    migrate_apart(config, migrations)  # before tracing.setup: its exporter runs a thread
    try:
        tracing.setup(name, config.var_dir, os.environ)
    except ConfigError as error:
        sys.exit(f"{name}: configuration error: {error}")
    try:
        engine = create_engine(database_url(config.db_url, config.name, config.var_dir))
        pruner = retention.Pruner(engine, retention.rules_for(engine), retention.interval_s())
        server, port = create_server(
            build(config, engine),
            config.port,
            config.host,
            max_workers=max_workers,
            reflection_names=reflection_names,
        )
        endpoint = metrics.serve(config.host, config.metrics_port)
    except (ConfigError, OSError, sqlalchemy.exc.OperationalError) as error:
        sys.exit(_failure(name, error))
    pruner.start()
    on_stop(pruner.stop)
    serve(server, name, port, config.grace_seconds)
    if endpoint is not None:
        endpoint.shutdown()
    for callback in _on_stop:
        callback()
    engine.dispose()
    tracing.shutdown()
