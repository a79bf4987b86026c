"""refund_attempts.counted_by_provider: the provider's reported refunded total counts this refund

A pending Stripe refund of ours was counted twice: once as pending (our attempt) and once in
the ``amount_refunded`` a ``charge.refunded`` reported, which counts pending refunds too, so
a second return was offered less than was left. A ``charge.refunded`` that Stripe sent because
of our refund request (its ``request.idempotency_key`` is the attempt's key), or whose charge
lists the refund (``refunds``, on API versions before 2022-11-15), now marks the attempt; while
the attempt is still open, the facts count it as pending and take it out of Stripe's total.
Rows written before this revision stay NULL: not known to be counted (the safe side). The mark
is journalled (``stripe_counts``), so a downgrade and upgrade again puts it back.

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refund_attempts",
                  sa.Column("counted_by_provider", sa.Boolean(), nullable=True))
    conn = op.get_bind()
    entries = conn.execute(sa.text("SELECT body FROM ledger_entries WHERE entry_type = :t"),
                           {"t": "stripe_counts"})
    for (body,) in entries:
        try:
            ids = json.loads(body).get("attempts") or []
        except (ValueError, AttributeError):
            continue  # an unreadable entry is ``ledger verify``'s to name, not this revision's
        for attempt_id in ids:
            conn.execute(sa.text("UPDATE refund_attempts SET counted_by_provider = :t "
                                 "WHERE id = :i"), {"t": True, "i": str(attempt_id)})


def downgrade() -> None:
    with op.batch_alter_table("refund_attempts") as batch:
        batch.drop_column("counted_by_provider")
