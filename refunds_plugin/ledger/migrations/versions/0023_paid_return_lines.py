"""the insights' money returned per line is what is paid: less what the provider's step left out

Stripe refunds three-decimal currencies in tens of fils, so the policy refunds a 20.005 KWD
line (less a 1.500 KWD fee) as 18.500 KWD and says that 0.005 KWD could not be refunded (its
``rounding`` rule). Before this revision the return's ``return_lines`` kept the line's 20.005 KWD,
so the insights counted money that was never paid (20.005 where 18.500 + 1.500 fee = 20.000).
From now on ``line_index.return_rows`` takes it off the lines (``paid_body``); here the returns
recorded before are rewritten: those a person's approval changed from their ``review_decided``
entries, as revision 0019 does, the others from the stored decision (``index_paid``); their
days are marked for the folder (``mark_decision``). Data only: no schema change.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.line_index import index_approval, index_paid, mark_decision

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    made = sa.Table("decisions", sa.MetaData(), autoload_with=bind)
    for (decision_id,) in bind.execute(sa.select(made.c.id).where(
            made.c.kind == "return", made.c.body.like('%"rule":"rounding"%'))).all():
        if not index_approval(bind, decision_id):  # no approval changed it: as the policy said
            index_paid(bind, decision_id)
        mark_decision(bind, decision_id)


def downgrade() -> None:
    """The policy's figures are in the decisions' bodies; nothing to undo in the schema."""
