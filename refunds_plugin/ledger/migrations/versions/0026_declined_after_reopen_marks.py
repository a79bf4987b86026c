"""the insights' rollups counted anew for returns the policy approved and a person declined after
re-opening their review

A return the policy approved goes back to a person when its payout is refused or its parcel
differs; if that person declines it, it grants nothing (``rollups.granted``, as
``finance.rows.granted_by`` says). Before, ``granted`` was "approved by the policy or by a
person", so the rollups folded then keep such a return's units and money returned, fees and
kept value. Here the day and customer of every such decision are marked for the folder
(``mark_decision``): the readers take those days from the indexed rows at once, and the next fold
recomputes their rollups. Data only: no schema change.

Self-contained: ``ledger/line_index.py``'s ``mark_decision`` as it was at this revision is copied
here, over the tables' columns as they stood.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

DAY = 86_400  # a rollup's day is ``at // DAY`` (UTC)
RETURN_FIGURES = sa.table("return_figures", sa.column("decision_id", sa.String(36)),
                          sa.column("customer", sa.String(320)),
                          sa.column("at", sa.BigInteger()))
MARKS = sa.table("insight_marks", sa.column("day", sa.Integer()),
                 sa.column("customer", sa.String(320)))


def upgrade() -> None:
    bind = op.get_bind()
    made = sa.Table("decisions", sa.MetaData(), autoload_with=bind)
    reviewed = sa.Table("reviews", sa.MetaData(), autoload_with=bind)
    declined = (sa.select(made.c.id)
                .join(reviewed, reviewed.c.decision_id == made.c.id)
                .where(made.c.kind == "return", made.c.outcome == "approve",
                       reviewed.c.status == "declined"))
    for (decision_id,) in bind.execute(declined).all():
        mark_decision(bind, decision_id)


def downgrade() -> None:
    """Marks only make the folder recount: nothing to undo."""


def mark_decision(conn: sa.Connection, decision_id: str) -> None:
    """Mark a return decision's day and customer for the folder."""
    f = RETURN_FIGURES.c
    conn.execute(sa.insert(MARKS).from_select(
        ["day", "customer"],
        sa.select(f.at // DAY, f.customer).where(f.decision_id == decision_id)))
