"""A known order sent again with other content: what changed, journalled as ``order_updated``.

A storefront may re-send ``order.paid`` for an order it already sent (more units, another total,
another payment). The new content replaces the old (``orders.upsert_order``), but never
silently: ``changes`` compares it with the stored row before the write, and ``journal`` appends
one ``order_updated`` entry with the before and after of each changed field. The trouble
detectors read that entry (``was_updated``): money they would give back on an updated order
waits for a person unless the policy allows it (``trouble.auto_correct_order_updates``).
Stored lines that cannot be read (a row edited by hand, a partial restore) are replaced like any
others; the entry shows their ``before`` as ``UNREADABLE`` and a warning names the order.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.journal import append_entry, plain
from refunds_plugin.ledger.orders import OrderRecord, normal_email
from refunds_plugin.ledger.tables import ledger_entries, orders, payments

log = logging.getLogger("refunds.ledger")
UNREADABLE = "unreadable"  # an order_updated entry's "before" of stored lines not valid JSON
ENTRY = "order_updated"  # journal entry type; subject ``order:<order_id>``
# fields a re-sent order.paid may change, as the orders row stores them; ``None`` in the new
# content for a date keeps the stored one (``upsert_order`` coalesces), so it is no change
_DATES = ("paid_at", "fulfilled_at", "delivered_at")
_STORED = select(orders).where(orders.c.order_id == bindparam("oid"))
_PAYMENTS = (
    select(payments.c.reference, payments.c.captured)
    .where(payments.c.order_id == bindparam("oid"))
    .order_by(payments.c.created_at, payments.c.id)
)
_UPDATED = (
    select(ledger_entries.c.seq)
    .where(ledger_entries.c.subject_id == bindparam("subject"),
           ledger_entries.c.entry_type == ENTRY)
    .limit(1)
)


def subject(order_id: str) -> str:
    return f"order:{order_id}"


def _when(value: datetime | None) -> str | None:
    """One spelling per instant (UTC), whatever offset it was sent or stored with."""
    return None if value is None else aware(value).astimezone(UTC).isoformat()


def _new(rec: OrderRecord) -> dict[str, Any]:
    return {
        "currency": rec.currency,
        "total_amount": rec.total_amount,
        "shipping_amount": rec.shipping_amount,
        "lines": [plain(ln) for ln in rec.lines],
        "customer_id": rec.customer.id,
        "customer_email": normal_email(rec.customer.email),
        "channel": rec.channel,
        **{d: _when(getattr(rec, d)) for d in _DATES},
    }


def _stored(row: Any) -> dict[str, Any]:
    return {
        "currency": row.currency,
        "total_amount": int(row.total_amount),
        "shipping_amount": int(row.shipping_amount),
        "lines": _lines(row.order_id, row.lines),
        "customer_id": row.customer_id,
        "customer_email": row.customer_email,
        "channel": row.channel,
        **{d: _when(getattr(row, d)) for d in _DATES},
    }


def _lines(order_id: str, stored: str) -> Any:
    """The stored lines, or ``UNREADABLE``: the update replaces them all the same, and the
    warning names the order, never the stored JSON (it holds customer data)."""
    try:
        return json.loads(stored)
    except ValueError as exc:
        log.warning("order %s's stored lines (orders.lines) cannot be read (%s: %s): the re-sent "
                    "order.paid's lines replace them", order_id, type(exc).__name__, exc,
                    extra={"order_id": order_id})
        return UNREADABLE


def _comparable(value: Any) -> Any:
    """Lines compare as JSON: tuples and lists alike, keys in any order."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def known_payments(conn: Connection, order_id: str) -> dict[str, int]:
    """The order's payments as ``{reference: captured}``, to compare before and after."""
    return {ref: int(captured) for ref, captured in conn.execute(_PAYMENTS, {"oid": order_id})}


def changes(conn: Connection, rec: OrderRecord) -> dict[str, dict[str, Any]] | None:
    """What ``rec`` changes on the stored order, field by field (``{}``: nothing); None when the
    order is new. Call before ``upsert_order``."""
    row = conn.execute(_STORED, {"oid": rec.order_id}).one_or_none()
    if row is None:
        return None
    before, after = _stored(row), _new(rec)
    out: dict[str, dict[str, Any]] = {}
    for name, new in after.items():
        old = before[name]
        if name in _DATES and new is None:
            continue  # a thinner event does not erase a date (upsert_order keeps it)
        if _comparable(old) != _comparable(new):
            out[name] = {"before": old, "after": new}
    return out


def journal(conn: Connection, order_id: str, changed: dict[str, dict[str, Any]], event_id: str,
            now: datetime) -> None:
    """One ``order_updated`` entry: which event changed what."""
    append_entry(conn, ENTRY, subject(order_id),
                 {"order_id": order_id, "event_id": event_id, "changed": changed}, now)


def was_updated(conn: Connection, order_id: str) -> bool:
    """Has a re-sent order.paid ever changed this order?"""
    return conn.execute(_UPDATED, {"subject": subject(order_id)}).first() is not None
