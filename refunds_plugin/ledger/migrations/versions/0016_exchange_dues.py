"""exchange_dues: an instant exchange's original value, due when it never came back

Revision ID: 0016
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_dues",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("paid_amount", sa.BigInteger(), nullable=True),
        sa.Column("payment_reference", sa.String(length=255), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_attempt_id", sa.String(length=36), nullable=True),
        sa.Column("tries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name="fk_exchange_dues_decision_id_decisions"),
        sa.PrimaryKeyConstraint("decision_id", name="pk_exchange_dues"),
        sa.UniqueConstraint("checkout_session_id",
                            name="uq_exchange_dues_checkout_session_id"),
    )
    op.create_index("ix_exchange_dues_status", "exchange_dues", ["status"])


def downgrade() -> None:
    op.drop_index("ix_exchange_dues_status", table_name="exchange_dues")
    op.drop_table("exchange_dues")
