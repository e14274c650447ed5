"""An empty database per test on each backend: a SQLite file, and the private MariaDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from services.kit.db import create_engine, database_url, ensure_database


@pytest.fixture(params=["sqlite", "mariadb"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """AEROALPES_DB_URL for the backend: None means the SQLite default under the var dir."""
    if request.param == "sqlite":
        return None
    mariadb = request.getfixturevalue("mariadb")
    return str(mariadb.url)


@pytest.fixture
def engine(backend_url: str | None, tmp_path: Path) -> Iterator[Engine]:
    url = database_url(backend_url, f"t_{uuid.uuid4().hex[:12]}", tmp_path)
    ensure_database(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()
