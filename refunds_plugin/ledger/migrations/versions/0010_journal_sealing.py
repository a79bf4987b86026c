"""ledger_entries.prev_hash and hash may be NULL: an entry waiting to be sealed into the chain

On PostgreSQL a writer inserts its journal entries without touching the chain's tail (no global
lock on the decision path); right after its commit they are sealed, in ``seq`` order, by
``ledger.seal`` (docs/journal.md). Until then ``prev_hash`` and ``hash`` are NULL. Every entry
written before this revision is already sealed and keeps its bytes, so old ledgers verify and
old anchors hold.

Revision ID: 0010
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # an entry not sealed yet would block NOT NULL: seal first (``refunds ledger seal``)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
