"""pagos: the outbox's traceparent column (services/kit/migrations.add_outbox_trace).

Revision ID: 0003
"""

from services.kit.migrations import add_outbox_trace, drop_outbox_trace

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    add_outbox_trace()


def downgrade() -> None:
    drop_outbox_trace()
