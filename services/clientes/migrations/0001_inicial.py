"""clientes: usuarios, outbox, idempotency keys.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from services.kit.db import UtcDateTime, big_id
from services.kit.idempotency import idempotency_columns
from services.kit.outbox import outbox_columns

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "usuarios",
        sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("nombres", sa.String(100), nullable=False),
        sa.Column("apellidos", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("tipo", sa.String(16), nullable=False),
        sa.Column("cedula", sa.String(20), nullable=False),
        sa.Column("rut", sa.String(20), nullable=False),
        sa.Column("estado", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("fecha_creacion", UtcDateTime, nullable=False),
        sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
    )
    op.create_table("outbox", *outbox_columns())
    op.create_table("idempotency_keys", *idempotency_columns())


def downgrade() -> None:
    for table in ("idempotency_keys", "outbox", "usuarios"):
        op.drop_table(table)
