"""sagas: the W3C traceparent of the request that started each saga, so every attempt (also
after a crash, on another orchestrator) is a span of the same trace; and the outbox's.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

from services.kit.migrations import add_outbox_trace, drop_outbox_trace

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("sagas") as batch:
        batch.add_column(sa.Column("traza", sa.String(55), nullable=True))
    add_outbox_trace()


def downgrade() -> None:
    drop_outbox_trace()
    with op.batch_alter_table("sagas") as batch:
        batch.drop_column("traza")
