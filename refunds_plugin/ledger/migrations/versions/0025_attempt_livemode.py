"""refund_attempts.livemode: whether the provider moved the money in its live or test mode

A refund made with a Stripe test key (``sk_test_…``, ``rk_test_…``) read on the finance pages as
"refunded through stripe", as if real money had moved: the attempt did not record the mode.
From now on the executor records the mode the provider answered in (``ProviderResult.livemode``:
Stripe's ``livemode`` where its answer carries one, else the key's), and a Stripe event that
settles an attempt records the event's. Rows written before this revision stay NULL: not
known, and the pages say of them what they said before.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refund_attempts", sa.Column("livemode", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refund_attempts") as batch:
        batch.drop_column("livemode")
