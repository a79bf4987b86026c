"""the insights' rows of returns a person approved with another amount carry the final figures

Before this revision a review approved with a changed amount, waived fees or store credit
instead kept the policy's figures in ``return_lines`` and ``return_figures``, so the insights
(money returned per product, fees, kept value, bonus) disagreed with the lists and the
summary. From now on the approval rewrites them (``line_index.index_adjusted``); here the
approvals recorded before are rewritten from their ``review_decided`` entries (the last one
with an ``adjusted`` body, which names the fees waived and the bonus), and their days marked
for the folder (``mark_decision``). Data only: no schema change.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.line_index import index_adjusted, mark_decision

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    reviews = sa.Table("reviews", meta, autoload_with=bind)
    decisions = sa.Table("decisions", meta, autoload_with=bind)
    entries = sa.Table("ledger_entries", meta, autoload_with=bind)
    changed = bind.execute(
        sa.select(reviews.c.decision_id, decisions.c.body)
        .join(decisions, decisions.c.id == reviews.c.decision_id)
        .where(reviews.c.adjusted_amount.is_not(None), decisions.c.kind == "return")).all()
    for decision_id, body_text in changed:
        change = None
        for (text,) in bind.execute(
                sa.select(entries.c.body).where(entries.c.entry_type == "review_decided",
                                                entries.c.subject_id == decision_id)
                .order_by(entries.c.seq)):
            change = json.loads(text).get("adjusted") or change
        if change is None:
            continue
        waived = set(change.get("fees_waived") or ())
        fees = sum(int(f.get("amount", 0)) for f in json.loads(body_text).get("fees") or ()
                   if f.get("code") not in waived)
        index_adjusted(bind, decision_id, int(change["amount"]), fees, int(change.get("bonus", 0)))
        mark_decision(bind, decision_id)


def downgrade() -> None:
    """The policy's figures are in the decisions' bodies; nothing to undo in the schema."""
