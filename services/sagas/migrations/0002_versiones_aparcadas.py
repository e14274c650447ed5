"""sagas: the definition version each saga runs, and parked (FALLIDA) sagas' next attempt.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from services.kit.db import UtcDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        # Sagas logged before versions existed ran the five-step definition: version 1.
        batch.add_column(
            sa.Column("version_definicion", sa.Integer, nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("proximo_intento", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("aparcamientos", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_saga_eventos_fecha", "saga_eventos", ["fecha"])
    # Sagas already FALLIDA were terminal until now: due at once, so recovery retries them.
    op.execute("UPDATE sagas SET proximo_intento = fecha_actualizacion WHERE estado = 'FALLIDA'")


def downgrade() -> None:
    op.drop_index("ix_saga_eventos_fecha", "saga_eventos")
    with op.batch_alter_table("sagas") as batch:
        for column in ("aparcamientos", "proximo_intento", "version_definicion"):
            batch.drop_column(column)
