"""saleor_returns: a return Saleor is told of without a refund attempt (a free order's), one per
decision, recorded there by the executor's loop with the progress a paid attempt keeps

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saleor_returns",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=255), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Text(), server_default="{}", nullable=False),
        sa.Column("fulfillment_id", sa.String(length=255), nullable=True),
        sa.Column("tries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                name="fk_saleor_returns_decision_id_decisions"),
        sa.PrimaryKeyConstraint("decision_id", name="pk_saleor_returns"),
    )
    op.create_index("ix_saleor_returns_due", "saleor_returns", ["status", "next_try_at"])


def downgrade() -> None:
    op.drop_index("ix_saleor_returns_due", table_name="saleor_returns")
    op.drop_table("saleor_returns")
