"""exchanges in the insights, and the indexes their reads need

Exchanges landed (0011) after the insights' rows (0009): an exchanged return line was counted
as money returned, and no return ended as "exchange". ``return_lines.exchanged`` says which
lines were swapped for another item (filled here from the decisions' stored bodies), and the
rollups are built again (``fold.build``) with exchanged lines worth no money returned and the
endings read from the exchanges (``ledger/rollups.ending``).

Indexes: ``insight_marks`` by day and by customer (every insight reads the marked days or
customers; the table had only its id), and a partial index for the withdrawal sweep's queue
(``withdrawals`` not yet a return, oldest first).

Self-contained: the rollups are built by ``migrations/rollups_0018.py``, the app's ``fold.build``
and the definitions under it frozen as they were at this revision, and the exchanged lines are
read from the bodies as ``line_index.exchanged_lines`` read them then (copied here).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

# frozen with this revision, beside env.py: no app code (tests/unit/test_migrations_frozen.py)
from refunds_plugin.ledger.migrations.rollups_0018 import build

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UNDECIDED = sa.text("decision_id IS NULL")


def exchanged_lines(decision: dict[str, Any]) -> set[str]:
    """The ids of a return decision's lines swapped for another item (its stored body)."""
    return {str(ln["line_id"]) for ln in (decision.get("exchange") or {}).get("lines") or ()}


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
    build(bind)


def downgrade() -> None:
    op.drop_index("ix_withdrawals_undecided", table_name="withdrawals")
    op.drop_index("ix_insight_marks_customer", table_name="insight_marks")
    op.drop_index("ix_insight_marks_day", table_name="insight_marks")
    with op.batch_alter_table("return_lines") as batch:
        batch.drop_column("exchanged")
