"""payments.confirmed_at: when the payment provider itself first confirmed a payment

A payment named only by the storefront's ``order.paid`` (its reference, its amount) has no
``confirmed_at``; a Stripe ``payment_intent.succeeded`` / ``charge.succeeded`` or a Saleor order
re-queried from Saleor sets it. The trouble detectors send corrections that rest on an
unconfirmed payment to a person. Rows stored before this revision are confirmed when a provider
event must have written them: a Stripe row with a charge id (only Stripe events set it) or a
Saleor row (only the re-queried order writes those); every other row stays unconfirmed, the
safe side.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    payments = sa.table(
        "payments",
        sa.column("provider", sa.String),
        sa.column("charge_id", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("confirmed_at", sa.DateTime(timezone=True)),
    )
    op.get_bind().execute(
        sa.update(payments)
        .where(
            sa.or_(
                sa.and_(payments.c.provider == "stripe", payments.c.charge_id.is_not(None)),
                payments.c.provider == "saleor",
            )
        )
        .values(confirmed_at=payments.c.created_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("confirmed_at")
