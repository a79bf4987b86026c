"""a follow-up for every Saleor return already failed

A return Saleor was never told of (``saleor_returns.status = 'failed'``) now opens a
``saleor_return_failed`` follow-up when it fails (``trouble.follow_ups.note_saleor_return_failed``).
Rows that failed before this revision get theirs here, opened at the time they failed
(``updated_at``), with the same words. Data only: no schema change.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from refunds_plugin.trouble.follow_ups import note_saleor_return_failed

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    told = sa.Table("saleor_returns", sa.MetaData(), autoload_with=bind)
    known = sa.Table("orders", sa.MetaData(), autoload_with=bind)
    failed = (sa.select(told.c.decision_id, told.c.order_id, told.c.last_error,
                        told.c.updated_at, known.c.extra)
              .select_from(told.outerjoin(known, known.c.order_id == told.c.order_id))
              .where(told.c.status == "failed").order_by(told.c.updated_at))
    for row in bind.execute(failed).all():
        try:
            number = (json.loads(row.extra or "{}").get("saleor") or {}).get("order_number")
        except (ValueError, AttributeError):
            number = None  # an unreadable extra: the order id alone names it
        note_saleor_return_failed(
            bind, order_id=row.order_id, order_number=str(number) if number else None,
            decision_id=row.decision_id, error=row.last_error or "no error was recorded",
            now=row.updated_at)


def downgrade() -> None:
    """The code before this revision lists none of these follow-ups: nothing to undo."""
