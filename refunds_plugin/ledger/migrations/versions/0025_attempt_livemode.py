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

import json

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refund_attempts", sa.Column("livemode", sa.Boolean(), nullable=True))
    # after a downgrade and this upgrade again, the journal already holds modes: they are put
    # back as the entries say (the last that names one, per attempt), so ``ledger verify``
    # finds the rows it left
    conn = op.get_bind()
    modes: dict[str, bool | None] = {}
    entries = conn.execute(sa.text("SELECT subject_id, body FROM ledger_entries "
                                   "WHERE entry_type = :t ORDER BY seq"), {"t": "attempt"})
    for subject, body in entries:
        try:
            entry = json.loads(body)
        except ValueError:
            continue  # an unreadable entry is ``ledger verify``'s to name, not this revision's
        if isinstance(entry, dict) and entry.get("livemode") is not None:
            modes[subject] = bool(entry["livemode"])
    for subject, mode in modes.items():
        conn.execute(sa.text("UPDATE refund_attempts SET livemode = :m WHERE id = :i"),
                     {"m": mode, "i": subject})


def downgrade() -> None:
    with op.batch_alter_table("refund_attempts") as batch:
        batch.drop_column("livemode")
