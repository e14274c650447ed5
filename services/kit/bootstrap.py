"""Composition root shared by every service: config, logging, database, migrations, serving."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy.engine import Engine

from services.kit import metrics, retention, tracing
from services.kit.config import ConfigError, ServiceConfig
from services.kit.db import create_engine, database_url, ensure_database
from services.kit.logs import configure_logging
from services.kit.migrations import upgrade
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
    try:
        tracing.setup(name, config.var_dir, os.environ)
    except ConfigError as error:
        sys.exit(f"{name}: configuration error: {error}")
    try:
        engine = open_database(config, migrations)
        pruner = retention.Pruner(engine, retention.rules_for(engine), retention.interval_s())
        server, port = create_server(
            build(config, engine),
            config.port,
            config.host,
            max_workers=max_workers,
            reflection_names=reflection_names,
        )
        endpoint = metrics.serve(config.host, config.metrics_port)
    except ConfigError as error:
        sys.exit(f"{name}: configuration error: {error}")
    except OSError as error:
        sys.exit(f"{name}: cannot start: {error}")
    except sqlalchemy.exc.OperationalError as error:
        sys.exit(f"{name}: database unavailable: {error.orig}")
    pruner.start()
    on_stop(pruner.stop)
    serve(server, name, port, config.grace_seconds)
    if endpoint is not None:
        endpoint.shutdown()
    for callback in _on_stop:
        callback()
    engine.dispose()
    tracing.shutdown()
