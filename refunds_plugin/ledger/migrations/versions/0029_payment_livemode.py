"""payments.livemode: whether Stripe captured the payment in its live or its test mode

A payment captured in Stripe's test mode (a test key's PaymentIntent or Charge) counted in the
finance summary's captured (``sales``) as if real money had been taken: the payment did not
record the mode. From now on a Stripe event that records a payment records the mode Stripe
made it in (the object's own ``livemode``, else the event's), and the payment's journal entry
carries it. Rows written before this revision, and payments only a storefront or Saleor named,
stay NULL: not known, and they count as they did before.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("livemode", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("livemode")
