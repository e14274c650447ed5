"""pagos: payments (with tombstones), outbox, idempotency keys.

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
        "pagos",
        sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("id_reserva", sa.String(36), nullable=False, unique=True),
        sa.Column("id_cliente", sa.String(36), nullable=False),
        sa.Column("monto", sa.BigInteger, nullable=False),
        sa.Column("moneda", sa.String(3), nullable=False),
        sa.Column("medio_pago", sa.String(64), nullable=False),
        sa.Column("estado", sa.String(16), nullable=False),
        sa.Column("fecha_creacion", UtcDateTime, nullable=False),
        sa.Column("fecha_actualizacion", UtcDateTime, nullable=False),
    )
    op.create_table("outbox", *outbox_columns())
    op.create_table("idempotency_keys", *idempotency_columns())


def downgrade() -> None:
    for table in ("idempotency_keys", "outbox", "pagos"):
        op.drop_table(table)
