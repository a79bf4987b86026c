"""What the merchant should chase: failed payments (opened on failure, cleared by a later
success) and return labels the carrier refused (``note_refused_label``).

A follow-up is opened when a payment fails for an order nothing has paid yet
(``note_failed_payment``, called by ``stripe.events.after_event`` for
``payment_intent.payment_failed``, and by ``reopen`` for ``refunds trouble scan --apply``); a
success for the order clears it (``clear_follow_ups`` here, called wherever a payment
is recorded: ``intake.storefront`` for ``order.paid``, ``stripe.events``, ``saleor.events`` and
``trouble.corrections.adopt_payment``). It is *due*, and listed (``find``), once the policy's
``follow_up_after_hours`` have passed without a success.

A return label the carrier refused (the customer's address, say) opens a ``label_refused``
follow-up naming the return and the carrier's words, once per return (its ``subject`` is the
decision id), due at once; the return's receipt clears it (``clear_label_refused``). A label
the carrier cancelled before any scan (EasyPost's ``cancelled``) opens ``label_cancelled`` the
same way (``note_cancelled_label``), cleared by the receipt too; so do a label still not bought
after every try (``label_failed``) and a parcel the carrier failed or sends back to the customer
(``parcel_problem``), by ``note_return_trouble``, which also opens ``restock_failed`` (a
Saleor restock that failed: ``shipping.receiving.finish_restock``).

An instant exchange's original that never came back, on a shop with no card through us, opens
an ``exchange_original_due`` follow-up with the amount due (``exchanges.dues``), due at once;
the original's late first scan clears it (``clear_original_due``).

A ready exchange that nothing tells the shop to ship (not a Saleor order, no
``REFUNDS_OUTBOUND_URL``) opens an ``exchange_unshipped`` follow-up naming the new items, due
at once (``exchanges.shipping.nobody_ships``); the exchange stays ready to ship until a person
records it shipped (``exchanges.by_hand``, from ``/finance`` or the API), which clears it
(``clear_unshipped``).

An approved return of a Saleor order that Saleor was never told of (its ``saleor_returns`` row
ended ``failed``: the order deleted in Saleor, the return refused, every try used) opens a
``saleor_return_failed`` follow-up naming the return, the order and Saleor's error, due at once
(``note_saleor_return_failed``, from ``execution.saleor_returns``). A person records the return
in the Saleor dashboard, then says so (``intake.saleor_returns.mark_recorded``), which clears it
(``clear_saleor_return``). ``exchange_difference_paid``: ``clear_difference_paid``, by hand.

Failed payments the live path missed are rebuilt from the events inbox by ``missed_payments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update

import policies
from refunds_plugin.ledger.db import aware, dialect_insert, iso_time
from refunds_plugin.ledger.tables import follow_ups, orders, payments
from refunds_plugin.money import Money, normalize_currency

STATUSES = ("open", "cleared", "all")
FAILED_TYPE = "payment_intent.payment_failed"
PAYMENT_KINDS = ("failed_payment", "payment_of_another_order")  # a payment clears them
SALEOR_RETURN = "saleor_return_failed"  # Saleor was never told of an approved return
RETURN_TROUBLE = ("label_failed", "parcel_problem")  # ``note_return_trouble``
KINDS = (*PAYMENT_KINDS, "label_refused", "label_cancelled", *RETURN_TROUBLE, "restock_failed",
         "exchange_original_due", "exchange_unshipped", SALEOR_RETURN, "exchange_difference_paid")


def open_follow_up(
    conn: Connection,
    *,
    kind: str,
    order_id: str,
    payment_reference: str | None,
    currency: str | None,
    amount: int | None,
    customer_email: str | None,
    detail: str,
    now: datetime,
    subject: str = "",
) -> bool:
    """Open a follow-up once per (kind, order, subject); False: it was there already."""
    stmt = dialect_insert(conn, follow_ups).values(
        kind=kind,
        order_id=order_id,
        subject=subject,
        payment_reference=payment_reference,
        currency=currency,
        amount=amount,
        customer_email=customer_email,
        detail=detail,
        status="open",
        created_at=now,
    )
    return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount == 1)


CLEAR_FOLLOW_UPS = (
    update(follow_ups)
    .where(follow_ups.c.order_id == bindparam("oid"), follow_ups.c.status == "open",
           follow_ups.c.kind.in_(PAYMENT_KINDS))
    .values(status="cleared", cleared_at=bindparam("now"))
)


def clear_follow_ups(conn: Connection, order_id: str, now: datetime) -> int:
    """A payment for the order was recorded: its open ``PAYMENT_KINDS`` follow-ups are cleared."""
    return int(conn.execute(CLEAR_FOLLOW_UPS, {"oid": order_id, "now": now}).rowcount)


def note_refused_label(conn: Connection, *, order_id: str, decision_id: str, reference: str,
                       carrier_said: str, now: datetime) -> bool:
    """The carrier refused a return's label (the customer's address): a person is told, once
    per return. The customer keeps the instructions without a label."""
    return open_follow_up(
        conn, kind="label_refused", order_id=order_id, subject=decision_id,
        payment_reference=reference, currency=None, amount=None, customer_email=None,
        detail=(f"Return {decision_id} of order {order_id}: no prepaid label, the carrier "
                f"refused it: {carrier_said}. The customer has the return address and "
                "return-by date; check the address with them."),
        now=now)


def note_cancelled_label(conn: Connection, *, order_id: str, decision_id: str,
                         expires_at: datetime, now: datetime) -> bool:
    """The carrier cancelled a return's label before the parcel was scanned: the customer was
    asked to get a new one from the shop, so a person is told, once per return."""
    return open_follow_up(
        conn, kind="label_cancelled", order_id=order_id, subject=decision_id,
        payment_reference=None, currency=None, amount=None, customer_email=None,
        detail=(f"Return {decision_id} of order {order_id}: the carrier cancelled its prepaid "
                "label before the parcel was sent. The customer was asked to contact you for "
                "a new one; unless the parcel is scanned, the return expires on "
                f"{expires_at.date().isoformat()} and its held money is canceled."),
        now=now)


def note_return_trouble(conn: Connection, *, kind: str, order_id: str, decision_id: str,
                        detail: str, now: datetime) -> bool:
    """A return a person must look at (``RETURN_TROUBLE``: ``label_failed``, no label after
    every try; ``parcel_problem``, the carrier failed or sends the parcel back), once per
    return and kind. Nothing is paid or canceled on it."""
    return open_follow_up(conn, kind=kind, order_id=order_id, subject=decision_id,
                          payment_reference=None, currency=None, amount=None,
                          customer_email=None, detail=detail, now=now)


def _clear(conn: Connection, kind: str | tuple[str, ...], decision_id: str,
           now: datetime) -> int:
    kinds = (kind,) if isinstance(kind, str) else kind
    return int(conn.execute(update(follow_ups).where(
        follow_ups.c.kind.in_(kinds), follow_ups.c.subject == decision_id,
        follow_ups.c.status == "open").values(status="cleared", cleared_at=now)).rowcount)


def clear_label_refused(conn: Connection, decision_id: str, now: datetime) -> int:
    """The return arrived anyway: its label or parcel follow-up is done."""
    return _clear(conn, ("label_refused", "label_cancelled", *RETURN_TROUBLE), decision_id, now)


def clear_original_due(conn: Connection, decision_id: str, now: datetime) -> int:
    """An instant exchange's original arrived after all: its ``exchange_original_due``
    follow-up (opened by ``exchanges.dues`` on a shop with no card through us) is done."""
    return _clear(conn, "exchange_original_due", decision_id, now)


def clear_unshipped(conn: Connection, decision_id: str, now: datetime) -> int:
    """A person sent the exchange's new items and said so (``exchanges.by_hand``): its
    ``exchange_unshipped`` follow-up is done."""
    return _clear(conn, "exchange_unshipped", decision_id, now)


def clear_difference_paid(conn: Connection, decision_id: str, now: datetime) -> int:
    """A person refunded an exchange's paid difference by hand: its follow-up is done."""
    return _clear(conn, "exchange_difference_paid", decision_id, now)


def note_saleor_return_failed(conn: Connection, *, order_id: str, order_number: str | None,
                              decision_id: str, error: str, now: datetime) -> bool:
    """Saleor was never told of an approved return (its ``saleor_returns`` row ended
    ``failed``): a person records it in the Saleor dashboard, once per return."""
    order = f"order {order_number} ({order_id})" if order_number else f"order {order_id}"
    return open_follow_up(
        conn, kind=SALEOR_RETURN, order_id=order_id, subject=decision_id,
        payment_reference=None, currency=None, amount=None, customer_email=None,
        detail=(f"Saleor was not told of return {decision_id} of {order}: {error}. The return "
                "is approved and the customer has their answer, but Saleor's order does not "
                "show the items as returned: record the return in the Saleor dashboard (check "
                "the order's fulfillments for a Returned one this service made first), then "
                "mark it recorded here."),
        now=now)


def clear_saleor_return(conn: Connection, decision_id: str, now: datetime) -> int:
    """A person recorded the return in Saleor and said so: its follow-up is done."""
    return _clear(conn, SALEOR_RETURN, decision_id, now)


@dataclass(frozen=True)
class FailedPayment:
    """A failed payment for an order, as a follow-up records it."""

    order_id: str
    reference: str
    currency: str
    amount: int
    customer_email: str | None
    detail: str

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> FailedPayment | None:
        """From a failed PaymentIntent (``payment_intent.payment_failed``); None when it names
        no order (``metadata.order_id``): there is nothing to follow up."""
        order_id = (obj.get("metadata") or {}).get("order_id")
        if not order_id:
            return None
        return cls(
            order_id=str(order_id),
            reference=str(obj["id"]),
            currency=normalize_currency(obj["currency"]),
            amount=int(obj.get("amount") or 0),
            customer_email=stripe_email(obj),
            detail=stripe_failure(obj),
        )


def note_failed_payment(
    conn: Connection, policy: policies.Policy, failed: FailedPayment, now: datetime
) -> str:
    """Open a follow-up for a failed payment unless the order is paid already."""
    if not policy.trouble.failed_payment.enabled:
        return "failed-payment follow-ups are switched off in the policy"
    if is_paid(conn, failed.order_id):
        return "the order is paid by another payment: no follow-up"
    open_follow_up(
        conn,
        kind="failed_payment",
        order_id=failed.order_id,
        payment_reference=failed.reference,
        currency=failed.currency,
        amount=failed.amount,
        customer_email=failed.customer_email,
        detail=failed.detail,
        now=now,
    )
    return "follow-up opened"


def is_paid(conn: Connection, order_id: str) -> bool:
    """Whether any payment (before or after a failure) has paid the order: one Stripe took in
    its test mode took no real money, so it pays no order a customer failed to pay."""
    paid = conn.execute(
        select(func.count())
        .select_from(payments)
        .where(payments.c.order_id == order_id, payments.c.status != "failed",
               payments.c.livemode.is_not(False))
    ).scalar_one()
    return bool(paid)


def stripe_test_mode(obj: dict[str, Any]) -> bool:
    """Whether Stripe made this PaymentIntent or Charge in its test mode (its ``livemode`` is
    false): no customer's money was taken or refused, so there is nothing to chase or clear."""
    return obj.get("livemode") is False


def stripe_email(obj: dict[str, Any]) -> str | None:
    """The customer's address on a failed PaymentIntent, wherever Stripe put it."""
    err = obj.get("last_payment_error") or {}
    method = err.get("payment_method") or {}
    billing = method.get("billing_details") or {} if isinstance(method, dict) else {}
    email = obj.get("receipt_email") or billing.get("email")
    return str(email) if email else None


def stripe_failure(obj: dict[str, Any]) -> str:
    """What failed, in Stripe's words: ``card_declined (insufficient_funds): Your card has …``."""
    err = obj.get("last_payment_error") or {}
    code = err.get("code") or "payment_failed"
    decline = f" ({err['decline_code']})" if err.get("decline_code") else ""
    message = err.get("message") or "the payment failed"
    return f"{code}{decline}: {message}"


@dataclass(frozen=True)
class FollowUp:
    order_id: str
    kind: str  # one of KINDS
    subject: str  # '' or the return's decision id
    payment_reference: str | None
    amount: Money | None
    customer: str  # email, or the customer id, or "" when we know neither
    detail: str
    opened_at: datetime
    due_at: datetime
    status: str = "open"  # open | cleared
    cleared_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "order_id": self.order_id,
            "decision_id": self.subject or None,
            "payment_reference": self.payment_reference,
            "amount": self.amount.minor if self.amount else None,
            "currency": self.amount.currency if self.amount else None,
            "amount_text": str(self.amount) if self.amount else "",
            "customer": self.customer,
            "what_failed": self.detail,
            "status": self.status,
            "opened_at": iso_time(self.opened_at),
            "due_at": iso_time(self.due_at),
            "cleared_at": iso_time(self.cleared_at) if self.cleared_at else None,
        }


def find(
    conn: Connection,
    policy: policies.Policy,
    now: datetime,
    *,
    status: str = "open",
    waiting: bool = True,
    limit: int | None = None,
    offset: int = 0,
    kinds: tuple[str, ...] = ("failed_payment",),
) -> list[FollowUp]:
    """Follow-ups of ``kinds``, oldest first. ``status`` is open, cleared or all; without
    ``waiting``, open failed payments still inside the policy's wait are left out (cleared
    ones stay; a refused label is due at once)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    wait = timedelta(hours=policy.trouble.failed_payment.follow_up_after_hours)
    query = (
        select(follow_ups, orders.c.customer_email.label("order_email"), orders.c.customer_id)
        .select_from(follow_ups.outerjoin(orders, orders.c.order_id == follow_ups.c.order_id))
        .where(follow_ups.c.kind.in_(kinds))
        .order_by(follow_ups.c.created_at, follow_ups.c.id)
    )
    if status != "all":
        query = query.where(follow_ups.c.status == status)
    if not waiting:
        due = follow_ups.c.created_at <= now - wait
        query = query.where((follow_ups.c.status != "open") | due
                            | (follow_ups.c.kind != "failed_payment"))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    out = []
    for row in conn.execute(query):
        opened = aware(row.created_at)
        amount = None
        if row.amount is not None and row.currency:
            amount = Money(int(row.amount), row.currency)
        waits = row.kind == "failed_payment"
        out.append(
            FollowUp(
                order_id=row.order_id,
                kind=row.kind,
                subject=row.subject or "",
                payment_reference=row.payment_reference,
                amount=amount,
                customer=row.customer_email or row.order_email or row.customer_id or "",
                detail=row.detail or "",
                opened_at=opened,
                due_at=opened + wait if waits else opened,
                status=row.status,
                cleared_at=aware(row.cleared_at),
            )
        )
    return out


def open_items(
    conn: Connection, policy: policies.Policy, now: datetime, *, waiting: bool = False
) -> list[FollowUp]:
    """Open follow-ups, oldest first: only those due unless ``waiting`` is asked for too."""
    return find(conn, policy, now, status="open", waiting=waiting)


# one page's cap, the same as ``finance.reports.MAX_PER_PAGE`` for the other /finance and /api
# listings (not imported: trouble/ sits below the people-facing finance/ read models)
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class FollowUpPage:
    items: list[FollowUp]
    page: int
    per_page: int
    has_next: bool


def find_page(
    engine: Engine, policy: policies.Policy, now: datetime, *, status: str, due_only: bool,
    page: int, per_page: int, kinds: tuple[str, ...] = KINDS,
) -> FollowUpPage:
    """One page of ``find`` (the listing the CLI uses) for ``/finance`` and ``/api``, oldest
    first, every kind unless ``kinds`` says. Raises ValueError for a status that is not open,
    cleared or all."""
    page, per_page = max(1, page), min(MAX_PER_PAGE, max(1, per_page))
    with engine.connect() as conn:
        items = find(
            conn, policy, now, status=status, waiting=not due_only,
            limit=per_page + 1, offset=(page - 1) * per_page, kinds=kinds,
        )
    return FollowUpPage(items[:per_page], page, per_page, len(items) > per_page)
