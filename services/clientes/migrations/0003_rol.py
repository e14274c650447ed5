"""clientes: the account's role, stored when the account is created (operators only through the
operator command), so a role never follows from an e-mail someone registered first.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("usuarios") as batch:
        batch.add_column(sa.Column("rol", sa.String(16), nullable=False, server_default="cliente"))


def downgrade() -> None:
    with op.batch_alter_table("usuarios") as batch:
        batch.drop_column("rol")
