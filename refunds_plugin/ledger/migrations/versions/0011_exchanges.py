"""exchanges: a decision's swapped lines, the difference to pay (a Stripe Checkout Session,
one per exchange), when the new items ship, and the replacement order (issue 16)

Revision ID: 0011
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("ship_on", sa.String(length=20), nullable=False),
        sa.Column("reached", sa.String(length=20), nullable=True),
        sa.Column("difference", sa.BigInteger(), nullable=False),
        sa.Column("charge_amount", sa.BigInteger(), nullable=False),
        sa.Column("waived_amount", sa.BigInteger(), nullable=False),
        sa.Column("back_amount", sa.BigInteger(), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replacement_id", sa.String(length=255), nullable=True),
        sa.Column("progress", sa.Text(), server_default="{}", nullable=False),
        sa.Column("tries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("fallback_decision_id", sa.String(length=36), nullable=True),
        sa.Column("original_due", sa.BigInteger(), nullable=True),
        sa.Column("claim_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name="fk_exchanges_decision_id_decisions"),
        sa.PrimaryKeyConstraint("decision_id", name="pk_exchanges"),
        sa.UniqueConstraint("checkout_session_id", name="uq_exchanges_checkout_session_id"),
    )
    op.create_index("ix_exchanges_status", "exchanges", ["status"])


def downgrade() -> None:
    op.drop_index("ix_exchanges_status", table_name="exchanges")
    op.drop_table("exchanges")
