"""clientes: forget idempotency rows written while fingerprints still held passwords.

Their ``huella`` was a plain sha256 of a registration, password included: someone holding the
database could test password guesses at hash speed, not argon2id's. A registration retried
across this upgrade answers EMAIL_REGISTRADO instead of replaying its first answer.

Revision ID: 0002
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")


def downgrade() -> None:
    pass  # nothing to restore: the rows were a cache of first answers
