"""exchanges.livemode, exchange_dues.livemode: the mode Stripe took an exchange's payment in

An exchange's dearer item's difference, and an instant exchange's original left due, are paid
through a Stripe Checkout Session. The finance summary counted such a payment (``exchange_charged``,
``exchange_original_paid``) as taken even when the session was made with a test key, in Stripe's
test mode, where no real money is taken: neither row recorded the mode. From now on
``checkout.session.completed`` records the mode Stripe made the session in (its ``livemode``,
else the event's) on the row it settles, and its journal entry (``exchange_paid``,
``exchange_due_paid``) carries it. Rows written before this revision stay NULL: not known, and
they count as they did before.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# table -> the journal entry that settles its payment
PAID = {"exchanges": "exchange_paid", "exchange_dues": "exchange_due_paid"}


def upgrade() -> None:
    conn = op.get_bind()
    for table, entry_type in PAID.items():
        op.add_column(table, sa.Column("livemode", sa.Boolean(), nullable=True))
        # after a downgrade and this upgrade again, the journal already holds the modes: put
        # back as the newest entry of each says
        modes: dict[str, bool] = {}
        entries = conn.execute(sa.text("SELECT subject_id, body FROM ledger_entries "
                                       "WHERE entry_type = :t ORDER BY seq"), {"t": entry_type})
        for subject, body in entries:
            try:
                entry = json.loads(body)
            except ValueError:
                continue  # an unreadable entry is ``ledger verify``'s to name, not this revision's
            if isinstance(entry, dict) and isinstance(entry.get("livemode"), bool):
                modes[subject] = entry["livemode"]
        for subject, mode in modes.items():
            conn.execute(sa.text(f"UPDATE {table} SET livemode = :m "  # noqa: S608 (the names are ours)
                                 "WHERE decision_id = :d"), {"m": mode, "d": subject})


def downgrade() -> None:
    for table in PAID:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("livemode")
