"""A service migrates its database in a forked child (services/kit/bootstrap.migrate_apart):
the database is at head afterwards, alembic never loads in the service's own process, and a
failing migration stops the service with the one line it always printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.support.components import REPO

# What a service's start does up to its database: its config, then migrate_apart. Prints what
# the parent holds afterwards, as JSON on the last line.
SERVICE = """
import json, sys
from pathlib import Path
from services.kit import bootstrap
from services.kit.config import ServiceConfig

bootstrap.migrate_apart(ServiceConfig.from_env("prueba", 0), Path(sys.argv[1]))
print(json.dumps({"alembic": "alembic" in sys.modules, "mako": "mako" in sys.modules}))
"""

MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("vuelos", sa.Column("id", sa.String(36), primary_key=True))
"""

BROKEN = """
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("INSERT INTO no_such_table VALUES (1)")
"""


def start(tmp_path: Path, versions: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AEROALPES_VAR_DIR": str(tmp_path / "var")}
    env.pop("AEROALPES_DB_URL", None)
    return subprocess.run(
        [sys.executable, "-c", SERVICE, str(versions)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def versions_dir(tmp_path: Path, *migrations: str) -> Path:
    versions = tmp_path / "versions"
    versions.mkdir()
    for number, text in enumerate(migrations, start=1):
        (versions / f"{number:04d}_prueba.py").write_text(text)
    return versions


def test_the_database_is_at_head_and_alembic_stays_out_of_the_service(tmp_path: Path) -> None:
    started = start(tmp_path, versions_dir(tmp_path, MIGRATION))
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout.splitlines()[-1]) == {"alembic": False, "mako": False}
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'var' / 'prueba.db'}")
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0001"
        assert "vuelos" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    again = start(tmp_path, tmp_path / "versions")  # a restart: nothing left to apply
    assert again.returncode == 0, again.stderr


def test_a_failing_migration_stops_the_service_with_its_one_line(tmp_path: Path) -> None:
    started = start(tmp_path, versions_dir(tmp_path, MIGRATION, BROKEN))
    assert started.returncode == 1
    assert started.stdout == ""  # the service went no further
    last = started.stderr.strip().splitlines()[-1]
    assert last == "prueba: database unavailable: no such table: no_such_table"
