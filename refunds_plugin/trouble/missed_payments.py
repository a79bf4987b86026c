"""Failed payments the live path missed, rebuilt from the events inbox (``refunds trouble
scan``): ``missed`` finds them, ``reopen`` opens the follow-up the live path would have opened
(``follow_ups.note_failed_payment``), idempotent by its unique ``(kind, order_id, subject)``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

import policies
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import events, follow_ups
from refunds_plugin.trouble.follow_ups import (
    FAILED_TYPE,
    FailedPayment,
    is_paid,
    note_failed_payment,
    stripe_test_mode,
)


@dataclass(frozen=True)
class Missed(FailedPayment):
    """A failed payment in the inbox that has no follow-up and whose order nothing has paid."""

    failed_at: datetime  # when the failure event was received: the follow-up's opening time

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "failed_payment",
            "order_id": self.order_id,
            "payment_reference": self.reference,
            "currency": self.currency,
            "amount": self.amount,
            "customer": self.customer_email or "",
            "detail": self.detail,
            "failed_at": self.failed_at.isoformat(),
        }


def missed(conn: Connection, policy: policies.Policy, since: datetime | None) -> list[Missed]:
    """Failed Stripe payments (received at or after ``since``) that the live path would have
    left open: the first failure of each order with no follow-up yet and no payment that paid
    it. Empty when the policy switches failed-payment follow-ups off."""
    if not policy.trouble.failed_payment.enabled:
        return []
    query = (
        select(events.c.payload, events.c.received_at)
        .where(events.c.source == "stripe", events.c.type == FAILED_TYPE)
        .order_by(events.c.received_at, events.c.id)
    )
    if since is not None:
        query = query.where(events.c.received_at >= since)
    first: dict[str, Missed] = {}
    for row in conn.execute(query):
        found = _from_payload(row.payload, aware(row.received_at))
        if found is not None and found.order_id not in first:
            first[found.order_id] = found
    if not first:
        return []
    known = set(  # all of them, not an IN list: SQLite caps the number of bound parameters
        conn.execute(
            select(follow_ups.c.order_id).where(follow_ups.c.kind == "failed_payment")
        ).scalars()
    )
    return [m for oid, m in first.items() if oid not in known and not is_paid(conn, oid)]


def _from_payload(payload: str, received_at: datetime) -> Missed | None:
    try:
        obj = json.loads(payload)["data"]["object"]
        failed = None if stripe_test_mode(obj) else FailedPayment.from_stripe(obj)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # not a PaymentIntent we can read: it was not one the live path could use
    # none in Stripe's test mode either: the live path opens none for it
    # none without an order id: the live path opens none either
    return None if failed is None else Missed(**asdict(failed), failed_at=received_at)


def reopen(conn: Connection, policy: policies.Policy, item: Missed) -> str:
    """Open the follow-up the live path would have opened; idempotent by (kind, order_id).

    Call it in a write transaction; it looks again, so what another process opened or paid
    since ``missed`` read is reported as such (the unique constraint holds it either way)."""
    there = conn.execute(
        select(follow_ups.c.status).where(
            follow_ups.c.kind == "failed_payment", follow_ups.c.order_id == item.order_id
        )
    ).scalar_one_or_none()
    if there is not None:
        return f"a follow-up is there already ({there})"
    return note_failed_payment(conn, policy, item, item.failed_at)
