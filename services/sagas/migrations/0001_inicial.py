"""sagas: the saga log (sagas, saga_eventos), outbox, idempotency keys.

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
        "sagas",
        sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("tipo", sa.String(50), nullable=False),
        sa.Column("estado", sa.String(16), nullable=False, index=True),
        sa.Column("paso_actual", sa.Integer, nullable=False),
        sa.Column("pasos", sa.Text, nullable=False),
        sa.Column("datos", sa.Text, nullable=False),
        sa.Column("id_cliente", sa.String(36), nullable=False, index=True),
        sa.Column("id_reserva", sa.String(36), nullable=False),
        sa.Column("id_pago", sa.String(36), nullable=False),
        sa.Column("codigo_localizador", sa.String(6), nullable=False),
        sa.Column("motivo", sa.String(500), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("huella", sa.String(64), nullable=False),
        sa.Column("propietario", sa.String(64), nullable=True),
        sa.Column("lease_hasta", UtcDateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fecha_creacion", UtcDateTime, nullable=False),
        sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
        sa.Column("fecha_limite", UtcDateTime, nullable=False),
    )
    op.create_table(
        "saga_eventos",
        sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
        sa.Column("id_saga", sa.String(36), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("paso", sa.Integer, nullable=False),
        sa.Column("tipo", sa.String(40), nullable=False),
        sa.Column("detalle", sa.String(500), nullable=False),
        sa.Column("propietario", sa.String(64), nullable=False),
        sa.Column("fecha", UtcDateTime, nullable=False),
    )
    op.create_table("outbox", *outbox_columns())
    op.create_table("idempotency_keys", *idempotency_columns())


def downgrade() -> None:
    for table in ("idempotency_keys", "outbox", "saga_eventos", "sagas"):
        op.drop_table(table)
