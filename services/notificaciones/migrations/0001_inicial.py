"""notificaciones: one row per event id.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from services.kit.db import UtcDateTime, big_id

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "notificaciones",
        sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("id_evento", sa.String(64), nullable=False, unique=True),
        sa.Column("tipo_evento", sa.String(64), nullable=False),
        sa.Column("id_cliente", sa.String(36), nullable=False, index=True),
        sa.Column("id_reserva", sa.String(36), nullable=False, index=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("asunto", sa.String(200), nullable=False),
        sa.Column("cuerpo", sa.Text, nullable=False),
        sa.Column("fecha_creacion", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notificaciones")
