"""outbox: customer emails and merchant events, recorded with their cause, delivered later

One row per (cause, kind, recipient), written in the transaction of the state change that causes
it and delivered by the executor's courier with claims, leases and retries like refund attempts
(``refunds_plugin/notify/``).

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("cause", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("locale", sa.String(35), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("cause", "kind", "recipient", name="uq_outbox_cause_kind_recipient"),
        sa.UniqueConstraint("id", name="uq_outbox_id"),
    )
    op.create_index("ix_outbox_status_next_try_at", "outbox", ["status", "next_try_at"])
    op.create_index("ix_outbox_cause", "outbox", ["cause"])


def downgrade() -> None:
    op.drop_index("ix_outbox_cause", table_name="outbox")
    op.drop_index("ix_outbox_status_next_try_at", table_name="outbox")
    op.drop_table("outbox")
