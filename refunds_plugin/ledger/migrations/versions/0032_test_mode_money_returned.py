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

The rollups' definitions now read this column and ``refund_attempts.livemode`` (0025), so
0017 and 0018 no longer build them on the way up: a history whose rollups were never built
(orders, and no folded sums) is built here (``fold.build``), by the definitions it will be
folded with.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.fold import build
from refunds_plugin.ledger.line_index import mark_decision

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("returned_days", sa.Column("test_money", sa.BigInteger(), nullable=False,
                                             server_default="0"))
    bind = op.get_bind()
    meta = sa.MetaData()
    orders, sums = (sa.Table(name, meta, autoload_with=bind)
                    for name in ("customer_orders", "money_days"))
    if (bind.execute(sa.select(orders.c.order_id).limit(1)).first() is not None
            and bind.execute(sa.select(sums.c.day).limit(1)).first() is None):
        build(bind)  # never built (upgraded from before 0018): built once, with this column
        return
    attempts = sa.Table("refund_attempts", meta, autoload_with=bind)
    in_test_mode = (sa.select(attempts.c.decision_id).distinct()
                    .where(attempts.c.status == "succeeded", attempts.c.livemode.is_(False)))
    for (decision_id,) in bind.execute(in_test_mode).all():
        mark_decision(bind, decision_id)  # nothing for a decision that is no return


def downgrade() -> None:
    """The column goes; its money is inside ``money`` already, as the revision before read it."""
    with op.batch_alter_table("returned_days") as batch:
        batch.drop_column("test_money")
