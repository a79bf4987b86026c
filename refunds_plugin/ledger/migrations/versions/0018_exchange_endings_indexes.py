"""exchanges in the insights, and the indexes their reads need

Exchanges landed (0011) after the insights' rows (0009): an exchanged return line was counted
as money returned, and no return ended as "exchange". ``return_lines.exchanged`` says which
lines were swapped for another item (filled here from the decisions' stored bodies), and the
rollups are built again (``fold.build``) with exchanged lines worth no money returned and the
endings read from the exchanges (``ledger/rollups.ending``).

Indexes: ``insight_marks`` by day and by customer (every insight reads the marked days or
customers; the table had only its id), and a partial index for the withdrawal sweep's queue
(``withdrawals`` not yet a return, oldest first).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from refunds_plugin.ledger.fold import build
from refunds_plugin.ledger.line_index import exchanged_lines

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UNDECIDED = sa.text("decision_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("return_lines") as batch:
        batch.add_column(sa.Column("exchanged", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_index("ix_insight_marks_day", "insight_marks", ["day"])
    op.create_index("ix_insight_marks_customer", "insight_marks", ["customer"])
    op.create_index("ix_withdrawals_undecided", "withdrawals", ["created_at", "id"],
                    postgresql_where=UNDECIDED, sqlite_where=UNDECIDED)
    bind = op.get_bind()
    meta = sa.MetaData()
    decisions = sa.Table("decisions", meta, autoload_with=bind)
    lines = sa.Table("return_lines", meta, autoload_with=bind)
    found = bind.execute(
        sa.select(decisions.c.id, decisions.c.body)
        .where(decisions.c.id.in_(sa.select(lines.c.decision_id)),
               decisions.c.body.like('%"exchange"%'))).all()
    for decision_id, body in found:
        swapped = sorted(exchanged_lines(json.loads(body)))
        if swapped:
            bind.execute(sa.update(lines).where(lines.c.decision_id == decision_id,
                                                lines.c.line_id.in_(swapped))
                         .values(exchanged=1))
    # ``build`` reads the current definitions, which from 0032 on read a column 0032 adds
    # (``returned_days.test_money``): as in 0017, the last revision that changes what the
    # rollups sum builds them (0032, when they were never built)
    if "test_money" in {c["name"] for c in sa.inspect(bind).get_columns("returned_days")}:
        build(bind)


def downgrade() -> None:
    op.drop_index("ix_withdrawals_undecided", table_name="withdrawals")
    op.drop_index("ix_insight_marks_customer", table_name="insight_marks")
    op.drop_index("ix_insight_marks_day", table_name="insight_marks")
    with op.batch_alter_table("return_lines") as batch:
        batch.drop_column("exchanged")
