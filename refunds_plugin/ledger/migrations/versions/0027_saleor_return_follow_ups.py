"""a follow-up for every Saleor return already failed

A return Saleor was never told of (``saleor_returns.status = 'failed'``) now opens a
``saleor_return_failed`` follow-up when it fails (``trouble.follow_ups.note_saleor_return_failed``).
Rows that failed before this revision get theirs here, opened at the time they failed
(``updated_at``), with the same words. Data only: no schema change.

Self-contained: the follow-up's words and its insert are copied here as
``trouble/follow_ups.py`` wrote them at this revision (``note_saleor_return_failed``,
``open_follow_up``), over the ``follow_ups`` table as it stood (0001, ``subject`` from 0012), so
a later change to the app's code or tables cannot change what upgrading an old ledger does.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

SALEOR_RETURN = "saleor_return_failed"

# ``follow_ups`` at this revision (0001, ``subject`` from 0012): the columns written here, with
# their types (SQLite keeps a time as the text SQLAlchemy's DateTime writes)
FOLLOW_UPS = sa.table(
    "follow_ups",
    sa.column("kind", sa.String(32)), sa.column("order_id", sa.String(255)),
    sa.column("subject", sa.String(64)), sa.column("payment_reference", sa.String(255)),
    sa.column("currency", sa.String(3)), sa.column("amount", sa.BigInteger()),
    sa.column("customer_email", sa.String(320)), sa.column("detail", sa.Text()),
    sa.column("status", sa.String(16)), sa.column("created_at", sa.DateTime(timezone=True)))


def note_saleor_return_failed(conn: sa.Connection, *, order_id: str, order_number: str | None,
                              decision_id: str, error: str, now: datetime) -> bool:
    """The follow-up of a return Saleor was never told of, once per (kind, order, return)."""
    order = f"order {order_number} ({order_id})" if order_number else f"order {order_id}"
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(FOLLOW_UPS)
    stmt = insert.values(
        kind=SALEOR_RETURN, order_id=order_id, subject=decision_id, payment_reference=None,
        currency=None, amount=None, customer_email=None,
        detail=(f"Saleor was not told of return {decision_id} of {order}: {error}. The return "
                "is approved and the customer has their answer, but Saleor's order does not "
                "show the items as returned: record the return in the Saleor dashboard (check "
                "the order's fulfillments for a Returned one this service made first), then "
                "mark it recorded here."),
        status="open", created_at=now)
    return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount == 1)


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
