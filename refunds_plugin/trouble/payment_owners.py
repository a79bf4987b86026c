"""A payment an ``order.paid`` names that another order already holds (``intake.storefront``).

The payment stays with its order, never moved nor claimed, and a person is told at once with a
``payment_of_another_order`` follow-up (one per order; a payment recorded for the order clears
it: ``follow_ups.clear_follow_ups``). The order's returns meanwhile go to review as
``payment_not_received`` (``policies.eligibility.payment``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, ScalarSelect, bindparam, func, select

from refunds_plugin.ledger.money_entries import written_owner
from refunds_plugin.ledger.tables import payments
from refunds_plugin.trouble.follow_ups import open_follow_up


def _held(column: ColumnElement[str]) -> ScalarSelect[str]:
    p = payments.c
    return select(p.order_id).where(
        p.provider == bindparam("provider"), column == bindparam("name"),
        p.order_id.is_not(None)).limit(1).scalar_subquery()


# one statement, two index searches: by the reference, else by the charge (each half its own
# subquery, so neither database reads every payment, with statistics or without)
_OWNER = select(func.coalesce(_held(payments.c.reference), _held(payments.c.charge_id)))


def payment_owner(conn: Connection, provider: str, reference: str) -> str | None:
    """The order a recorded payment belongs to, named by its reference or (Stripe) its
    charge; None: an unknown payment, or one no order claimed yet."""
    written = written_owner(conn, provider, reference)
    if written is not None:
        return written
    return conn.execute(_OWNER, {"provider": provider, "name": reference}).scalar()


def note_payment_of_another_order(
    conn: Connection, *, order_id: str, owner: str, provider: str, reference: str,
    currency: str, amount: int, customer_email: str | None, now: datetime,
) -> str:
    """An ``order.paid`` named a payment already recorded for another order: nothing is
    recorded for this order, and a person is told at once (once per order). Returns the
    event's note."""
    open_follow_up(
        conn, kind="payment_of_another_order", order_id=order_id, payment_reference=reference,
        currency=currency, amount=amount, customer_email=customer_email,
        detail=(f"Order {order_id} was sent as paid by {provider} payment {reference}, which "
                f"is already recorded for order {owner}. No payment is recorded for order "
                f"{order_id}: its returns go to review until one is. Check which order the "
                "payment paid; a payment recorded for this order clears this."),
        now=now)
    return (f"payment {reference} belongs to order {owner}: not recorded for this order "
            "(follow-up payment_of_another_order)")

