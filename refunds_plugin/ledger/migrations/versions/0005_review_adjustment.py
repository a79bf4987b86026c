"""reviews.adjusted_*: what an admin's approval changed, where every reader can take it

An approval may pay another amount, waive the fees or give store credit instead; the
``decisions`` row keeps what the policy said (its hash is in the chain) and the
``review_decided`` entry's ``adjusted`` body says what was changed. These nullable columns hold
the changed resolution and amounts in the ``decisions`` row's own terms, so lists, exports and
the customer's history read COALESCE(adjusted_…, decisions.…). Reviews approved with a change
before this revision are filled in from their journal entries (``verify`` checks the same).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("adjusted_resolution", sa.String(32)),
    ("adjusted_amount", sa.BigInteger()),
    ("adjusted_refund_amount", sa.BigInteger()),
    ("adjusted_credit_amount", sa.BigInteger()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("reviews", sa.Column(name, type_, nullable=True))
    entries = sa.table("ledger_entries", sa.column("seq", sa.BigInteger),
                       sa.column("entry_type", sa.String), sa.column("subject_id", sa.String),
                       sa.column("body", sa.Text))
    decisions = sa.table("decisions", sa.column("id", sa.String), sa.column("body", sa.Text))
    reviews = sa.table("reviews", sa.column("decision_id", sa.String),
                       *(sa.column(n, t) for n, t in COLUMNS))
    bind = op.get_bind()
    latest: dict[str, dict[str, Any]] = {}  # the last change journalled for each decision
    for subject, body in bind.execute(
        sa.select(entries.c.subject_id, entries.c.body)
        .where(entries.c.entry_type == "review_decided", entries.c.body.like('%"adjusted"%'))
        .order_by(entries.c.seq)
    ):
        change = json.loads(body).get("adjusted")
        if change:
            latest[subject] = change
    for decision_id, change in latest.items():
        raw = bind.execute(
            sa.select(decisions.c.body).where(decisions.c.id == decision_id)
        ).scalar_one_or_none()
        bind.execute(
            sa.update(reviews).where(reviews.c.decision_id == decision_id)
            .values(**_figures(change, json.loads(raw or "{}")))
        )


def _figures(change: dict[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
    """As ``ledger.reviews.adjusted_figures`` says them (kept here: a revision stands alone)."""
    amount, bonus = int(change["amount"]), int(change.get("bonus", 0))
    kinds = str(change["resolution"]).split("+")
    kept = sum(int(r.get("amount", 0)) for r in decision.get("resolutions", ())
               if r.get("kind") == "credit")
    refund = 0 if "refund" not in kinds else amount if "credit" not in kinds else amount - kept
    return {"adjusted_resolution": change["resolution"], "adjusted_amount": amount,
            "adjusted_refund_amount": refund, "adjusted_credit_amount": amount + bonus - refund}


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
