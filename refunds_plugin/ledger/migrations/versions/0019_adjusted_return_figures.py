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

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.line_index import index_approval, mark_decision

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.MetaData()
    reviews = sa.Table("reviews", meta, autoload_with=bind)
    decisions = sa.Table("decisions", meta, autoload_with=bind)
    changed = bind.execute(
        sa.select(reviews.c.decision_id)
        .join(decisions, decisions.c.id == reviews.c.decision_id)
        .where(reviews.c.adjusted_amount.is_not(None), decisions.c.kind == "return")).all()
    for (decision_id,) in changed:
        if index_approval(bind, decision_id):
            mark_decision(bind, decision_id)


def downgrade() -> None:
    """The policy's figures are in the decisions' bodies; nothing to undo in the schema."""
