"""withdrawals: the EU withdrawal function's statements, one per confirmed form (issue 15)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("form_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("whole_order", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_ends", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_period", sa.Boolean(), nullable=False),
        sa.Column("legal_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_withdrawals"),
        sa.UniqueConstraint("order_id", "form_key", name="uq_withdrawals_order_form"),
    )
    op.create_index("ix_withdrawals_received_at", "withdrawals", ["received_at"])
    op.create_index("ix_withdrawals_order_id", "withdrawals", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_withdrawals_order_id", table_name="withdrawals")
    op.drop_index("ix_withdrawals_received_at", table_name="withdrawals")
    op.drop_table("withdrawals")
