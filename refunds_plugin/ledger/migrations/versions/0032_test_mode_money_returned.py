"""returned_days.test_money: the insights' money returned per product leaves out what Stripe
paid in its test mode

The reasons insight and the costs per product summed the value of every granted return line
as money returned, also of returns whose refund or store credit Stripe made in its test mode
(a test key: the attempt's ``livemode`` is false), where no real money moved; the costs' own
terms already left that money out. Now a line of such a return (``rollups.in_test_mode``) is
counted apart: ``returned_days`` keeps, beside each sum of money, what of it Stripe paid in its
test mode (``test_money``), which the readers take out of the money returned.

Rollups folded before this revision hold 0 there. As 0026 does, the day and customer of every
return decision with a succeeded test-mode attempt are marked for the folder
(``mark_decision``): the readers take those days from the indexed rows at once, and the next
fold recomputes their rollups. From now on an attempt settled in test mode marks its own
decision (``attempts.transition``).

Self-contained: ``ledger/line_index.py``'s ``mark_decision`` as it is at this revision is
copied here, over the tables' columns as they stand (as 0026 does). The rollups themselves
were built by 0018 with its own definitions; the folder adds this column's sums as it refolds.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

DAY = 86_400  # a rollup's day is ``at // DAY`` (UTC)
RETURN_FIGURES = sa.table("return_figures", sa.column("decision_id", sa.String(36)),
                          sa.column("customer", sa.String(320)),
                          sa.column("at", sa.BigInteger()))
MARKS = sa.table("insight_marks", sa.column("day", sa.Integer()),
                 sa.column("customer", sa.String(320)))
ATTEMPTS = sa.table("refund_attempts", sa.column("decision_id", sa.String(36)),
                    sa.column("status", sa.String(20)), sa.column("livemode", sa.Boolean()))


def upgrade() -> None:
    op.add_column("returned_days", sa.Column("test_money", sa.BigInteger(), nullable=False,
                                             server_default="0"))
    bind = op.get_bind()
    a = ATTEMPTS.c
    in_test_mode = (sa.select(a.decision_id).distinct()
                    .where(a.status == "succeeded", a.livemode.is_(False)))
    for (decision_id,) in bind.execute(in_test_mode).all():
        mark_decision(bind, decision_id)  # nothing for a decision that is no return


def mark_decision(conn: sa.Connection, decision_id: str) -> None:
    """Mark a return decision's day and customer for the folder."""
    f = RETURN_FIGURES.c
    conn.execute(sa.insert(MARKS).from_select(
        ["day", "customer"],
        sa.select(f.at // DAY, f.customer).where(f.decision_id == decision_id)))


def downgrade() -> None:
    """The column goes; its money is inside ``money`` already, as the revision before read it."""
    with op.batch_alter_table("returned_days") as batch:
        batch.drop_column("test_money")
