"""What a storefront's ``order.paid`` means for the ledger, inside the service's event transaction.

The order is stored (a known order sent with other content is an update, journalled with what
changed by ``ledger.order_updates``), and the payment it names is recorded as the storefront's
word only: ``confirmed`` stays unset until the provider's own event says so, and a Stripe
payment named by its charge joins the row its PaymentIntent made (``ledger.orders``). A payment
already recorded for another order is neither moved nor claimed: the order is stored without
it and a ``payment_of_another_order`` follow-up tells finance (``trouble.payment_owners``). An order
dated ahead of the service's clock is refused before anything is recorded (``refuse_future``),
as is a return asked for at a moment ahead of it (``refuse_future_request``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from refunds_plugin.domain.facts import ReturnRequest
from refunds_plugin.errors import PayloadError
from refunds_plugin.ledger import order_updates
from refunds_plugin.ledger.orders import (
    OrderRecord,
    insert_order,
    record_payment,
    upsert_order,
)
from refunds_plugin.stripe import disputes
from refunds_plugin.stripe import refunded_total as stripe_refunded
from refunds_plugin.trouble import paid, payment_owners

# how far ahead of the service's clock an order's dates may be (a storefront's clock running a
# little fast); a later date would lengthen the return window, so it is refused
CLOCK_SKEW = timedelta(minutes=5)
_DATES = ("paid_at", "fulfilled_at", "delivered_at")


def refuse_future(order: OrderRecord, now: datetime) -> None:
    """PayloadError ``<date>_in_future`` when ``paid_at``, ``fulfilled_at`` or ``delivered_at``
    is more than ``CLOCK_SKEW`` after ``now``: such a date would lengthen the return window."""
    for name in _DATES:
        _not_ahead(name, getattr(order, name), now)


def refuse_future_request(request: ReturnRequest, now: datetime) -> None:
    """PayloadError ``requested_at_in_future`` when a return's ``requested_at`` is more than
    ``CLOCK_SKEW`` after ``now``: the policy decides as of that moment, so a day not yet come
    would count toward its windows and ``refund_within_days`` and a tier's months."""
    _not_ahead("requested_at", request.requested_at, now)


def _not_ahead(name: str, when: datetime | None, now: datetime) -> None:
    if when is not None and when > now + CLOCK_SKEW:
        raise PayloadError(
            f"{name} {when.isoformat()} is in the future: later than the service's clock "
            f"({now.isoformat()}) by more than {int(CLOCK_SKEW.total_seconds() // 60)} "
            "minutes", code=f"{name}_in_future")


@dataclass(frozen=True)
class PaymentRecord:
    provider: str
    reference: str
    amount: int


def payment_lock(payment: PaymentRecord | None) -> tuple[str, ...]:
    """The lock of the Stripe payment's name an order.paid gives, which it takes before its
    order's: a dispute of a payment not recorded yet takes it too (``stripe.disputes``), so
    the one that commits second sees the other's write (the dispute kept for the payment, or
    the payment it then marks disputed); both take it before the order's lock, never after."""
    if payment is None or payment.provider != "stripe":
        return ()
    return disputes.name_lock(payment.reference)


def apply_order_paid(
    conn: Connection, order: OrderRecord, payment: PaymentRecord | None, event_id: str,
    now: datetime,
) -> tuple[str | None, dict[str, Any]]:
    """Store the order and its payment; returns the event's note and what changed (``{}`` for
    a new order or the same content again)."""
    # a new order is stored at once; a known one is compared first, then replaced
    new = insert_order(conn, order, now)
    found = None if new else order_updates.changes(conn, order)  # None: a new order
    paid_before = {} if new else order_updates.known_payments(conn, order.order_id)
    if not new:
        upsert_order(conn, order, now)
    note = None
    if payment is not None:
        # a payment kept by another order is never moved, nor claimed by this one (the upsert
        # leaves it untouched: ``ledger.orders``), and a person is told: read after recording,
        # so two such events at once are seen too, and nothing is read before the upsert
        reference = record_payment(
            conn,
            provider=payment.provider,
            reference=payment.reference,
            order_id=order.order_id,
            currency=order.currency,
            captured=payment.amount,
            customer=order.customer,
            now=now,
            confirmed=False,
        )
        owner = payment_owners.payment_owner(conn, payment.provider, reference)
        if owner is not None and owner != order.order_id:
            note = payment_owners.note_payment_of_another_order(
                conn, order_id=order.order_id, owner=owner, provider=payment.provider,
                reference=reference, currency=order.currency, amount=payment.amount,
                customer_email=order.customer.email, now=now)
        else:
            # a charge.refunded or a dispute may have come first: settled if Stripe's word is
            # in the journal (a dispute's under either name of the payment: ``disputes``)
            stripe = payment.provider == "stripe"
            refunded, disputed = paid.after_payment(
                conn, order.order_id, now,
                stripe_refunded.subject(reference) if stripe else None,
                (stripe_refunded.SNAPSHOT, disputes.ENTRY))
            if refunded:
                stripe_refunded.settle(conn, reference, now)
            if disputed:
                disputes.settle(conn, reference, (payment.reference,), now)
    if found is None:
        return note, {}
    paid_after = order_updates.known_payments(conn, order.order_id)
    if paid_after != paid_before:
        found["payments"] = {"before": paid_before, "after": paid_after}
    if not found:
        return note, {}
    order_updates.journal(conn, order.order_id, found, event_id, now)
    updated = "order updated: " + ", ".join(sorted(found))
    return (updated if note is None else f"{updated}; {note}"), found
