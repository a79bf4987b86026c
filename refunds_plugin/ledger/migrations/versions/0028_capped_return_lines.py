"""the insights' money returned per line leaves out what the payment could not hold

A return on an order whose payment has not reached us (or is disputed, or partly refunded
already) is decided for no more than the payment holds: the policy's ``refundable_cap`` rule
takes the rest off (``over_by``), and a person's approval as it stands grants that. Before this
revision the return's ``return_lines`` kept each line's whole value, so the insights counted
money returned that was never granted (25.00 where the ledger, the summary and the costs say
0.00), and an approval of another amount was spread on top of those values. From now on
``line_index.paid_body`` takes the cap's cut off the lines too; here the returns recorded before
are rewritten, as revision 0023 does for the provider's rounding: those a person's approval
changed from their ``review_decided`` entries, the others from the stored decision; their days
are marked for the folder. Data only: no schema change.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.line_index import index_approval, index_paid, mark_decision

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    made = sa.Table("decisions", sa.MetaData(), autoload_with=bind)
    for (decision_id,) in bind.execute(sa.select(made.c.id).where(
            made.c.kind == "return", made.c.body.like('%"rule":"refundable_cap"%'))).all():
        if not index_approval(bind, decision_id):  # no approval changed it: as the policy said
            index_paid(bind, decision_id)
        mark_decision(bind, decision_id)


def downgrade() -> None:
    """The policy's figures are in the decisions' bodies; nothing to undo in the schema."""
