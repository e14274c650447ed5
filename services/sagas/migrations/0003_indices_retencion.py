"""sagas: indexes by age on the outbox and idempotency keys, so retention prunes without a scan.

Revision ID: 0003
"""

from services.kit.migrations import add_retention_indexes, drop_retention_indexes

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    add_retention_indexes()


def downgrade() -> None:
    drop_retention_indexes()
