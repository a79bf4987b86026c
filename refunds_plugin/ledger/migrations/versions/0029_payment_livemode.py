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

import json

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("livemode", sa.Boolean(), nullable=True))
    # after a downgrade and this upgrade again, the journal already holds modes: they are put
    # back as the entries say (the newest per payment), so ``ledger verify`` finds the rows it left
    conn = op.get_bind()
    modes: dict[str, bool | None] = {}
    entries = conn.execute(sa.text("SELECT subject_id, body FROM ledger_entries "
                                   "WHERE entry_type = :t ORDER BY seq"), {"t": "payment_captured"})
    for subject, body in entries:
        try:
            entry = json.loads(body)
        except ValueError:
            continue  # an unreadable entry is ``ledger verify``'s to name, not this revision's
        if isinstance(entry, dict):
            modes[subject] = entry.get("livemode")
    for subject, mode in modes.items():
        provider, _, reference = subject.partition(":")
        if mode is not None:
            conn.execute(sa.text("UPDATE payments SET livemode = :m "
                                 "WHERE provider = :p AND reference = :r"),
                         {"m": bool(mode), "p": provider, "r": reference})


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("livemode")
