"""follow_ups.subject and the restock lease (issue 14's gaps)

* ``follow_ups.subject``: what a follow-up is about inside its order ('' for a failed payment,
  the decision id for a return label the carrier refused), so a second return of one order gets
  its own; the unique constraint becomes (kind, order_id, subject).
* ``return_receipts.restock_*``: a Saleor restock is claimed under a lease
  (``restock_claim_until``), tried ``restock_tries`` times, and remembers the quantity it read
  and the one it set (``restock_before``, ``restock_target``), so a retry after a crash sets
  the same quantity instead of adding the units twice.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=64), server_default="",
                                   nullable=False))
        batch.drop_constraint("uq_follow_ups_kind_order", type_="unique")
        batch.create_unique_constraint("uq_follow_ups_kind_order_subject",
                                       ["kind", "order_id", "subject"])
    with op.batch_alter_table("return_receipts") as batch:
        batch.add_column(sa.Column("restock_claim_until", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("restock_tries", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("restock_before", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("restock_target", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("restock_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("return_receipts") as batch:
        for name in ("restock_note", "restock_target", "restock_before", "restock_tries",
                     "restock_claim_until"):
            batch.drop_column(name)
    with op.batch_alter_table("follow_ups") as batch:
        batch.drop_constraint("uq_follow_ups_kind_order_subject", type_="unique")
        batch.create_unique_constraint("uq_follow_ups_kind_order", ["kind", "order_id"])
        batch.drop_column("subject")
