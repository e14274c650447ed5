"""Alembic wiring: one shared env.py, one version history (and version table) per context."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

_ENV_DIR = Path(__file__).parent / "alembic"


def alembic_config(versions_dir: Path, version_table: str) -> Config:
    config = Config()
    config.set_main_option("path_separator", "os")
    config.set_main_option("script_location", str(_ENV_DIR))
    config.set_main_option("version_locations", str(versions_dir))
    config.attributes["version_table"] = version_table
    return config


def upgrade(engine: Engine, versions_dir: Path, version_table: str) -> None:
    """Applies every migration of ``versions_dir`` not yet applied (called at start-up)."""
    config = alembic_config(versions_dir, version_table)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def add_retention_indexes() -> None:
    """Indexes retention prunes by (outbox and idempotency keys, by age): one migration step
    shared by every context that has both tables (call from its migration's upgrade)."""
    from alembic import op

    op.create_index("ix_outbox_fecha", "outbox", ["fecha"])
    op.create_index("ix_idempotency_keys_fecha", "idempotency_keys", ["fecha"])


def drop_retention_indexes() -> None:
    from alembic import op

    op.drop_index("ix_idempotency_keys_fecha", "idempotency_keys")
    op.drop_index("ix_outbox_fecha", "outbox")


def add_outbox_trace() -> None:
    """The outbox's ``traza``: the traceparent of the request that wrote each event, which the
    relay carries into the message's properties (one migration step shared by every context)."""
    import sqlalchemy as sa
    from alembic import op

    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("traza", sa.String(55), nullable=True))


def drop_outbox_trace() -> None:
    from alembic import op

    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("traza")
