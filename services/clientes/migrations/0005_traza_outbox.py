"""clientes: the outbox's traceparent column (services/kit/migrations.add_outbox_trace).

Revision ID: 0005
"""

from services.kit.migrations import add_outbox_trace, drop_outbox_trace

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    add_outbox_trace()


def downgrade() -> None:
    drop_outbox_trace()
