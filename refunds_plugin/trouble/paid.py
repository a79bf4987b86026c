"""After an order event records its payment: three steps in one statement on PostgreSQL.

When ``order.paid`` has recorded the payment the storefront names (``intake.storefront``), three
steps follow, each its own round trip on PostgreSQL: the order's open payment follow-ups are
cleared (``follow_ups.clear_follow_ups``); the journal is asked whether the provider reported a
refunded total or a dispute for the payment before it arrived (``stripe.refunded_total.settle``,
``stripe.disputes.settle``, which do more only when one was); and the trouble detectors'
precheck reads the order's total and payments (``detectors.precheck``). None needs another's
result, and the payment's row was written by an earlier statement of the transaction, so here
they are one statement (``WITH cleared AS (UPDATE …) SELECT …``). The precheck's figures are
kept for this transaction (``db.remember``): the detectors take them instead of reading them
again. Settling changes only the payment's refunded total or its dispute status (disputed or
succeeded), neither of which the precheck reads (it counts every payment that did not fail).

On SQLite, where a statement costs no round trip, the steps run one by one as before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, exists, func, select

from refunds_plugin.ledger.tables import ledger_entries
from refunds_plugin.trouble import detectors
from refunds_plugin.trouble.follow_ups import CLEAR_FOLLOW_UPS, clear_follow_ups

_cleared = CLEAR_FOLLOW_UPS.returning(CLEAR_FOLLOW_UPS.table.c.id).cte("cleared")
ASKED = 2  # how many entry types ``after_payment`` asks about at most
_JOURNALLED = [exists().where(ledger_entries.c.subject_id == bindparam("entry_subject"),
                              ledger_entries.c.entry_type == bindparam(f"entry_type_{i}"))
               for i in range(ASKED)]
# built once: every order.paid with a payment sends it. No parameter may be named as a column
# of ``follow_ups``: SQLAlchemy would add it to the UPDATE's SET (``order_id``, ``subject``)

_AFTER = select(
    select(func.count()).select_from(_cleared).scalar_subquery(),
    *_JOURNALLED,
    *detectors.PRECHECK_COLUMNS,
)


def after_payment(conn: Connection, order_id: str, now: datetime, subject: str | None,
                  entry_types: tuple[str, ...] = ()) -> tuple[bool, ...]:
    """Clear the order's open payment follow-ups; for each of ``entry_types`` (at most
    ``ASKED``), whether the journal may hold an entry of it under ``subject`` (the payment), so
    it is worth settling: on PostgreSQL, whether it does, read in the same statement as the
    detectors' precheck of the order, which is kept for this transaction; on SQLite, True
    whenever a subject is asked about (the settling reads it)."""
    assert len(entry_types) <= ASKED
    if conn.dialect.name != "postgresql":
        clear_follow_ups(conn, order_id, now)
        return tuple(subject is not None for _ in entry_types)
    types = {f"entry_type_{i}": "" for i in range(ASKED)}  # no type is empty: none is found
    types.update({f"entry_type_{i}": t for i, t in enumerate(entry_types) if subject})
    _cleared_count, *found = conn.execute(_AFTER, {
        "oid": order_id, "now": now, "checked_order": order_id,
        "entry_subject": subject or "", **types}).one()
    journalled, figures = found[:ASKED], found[ASKED:]
    detectors.remember_precheck(conn, order_id, tuple(figures))
    return tuple(bool(j) for j in journalled[:len(entry_types)])
