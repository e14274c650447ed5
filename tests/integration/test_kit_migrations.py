"""Alembic wiring: a context's own history applies once, with its own version table."""

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.kit.migrations import upgrade

MIGRATION = """
import sqlalchemy as sa
from alembic import op

from services.kit.outbox import outbox_columns

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("vuelos", sa.Column("id", sa.String(36), primary_key=True))
    op.create_table("outbox", *outbox_columns())
"""


def test_upgrade_applies_once_and_records_the_version(engine: Engine, tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_vuelos.py").write_text(MIGRATION)
    upgrade(engine, versions, "alembic_version_prueba")
    upgrade(engine, versions, "alembic_version_prueba")  # a restart: nothing left to apply
    tables = set(sa.inspect(engine).get_table_names())
    assert {"vuelos", "outbox", "alembic_version_prueba"} <= tables
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version_prueba")).scalar()
    assert version == "0001"
