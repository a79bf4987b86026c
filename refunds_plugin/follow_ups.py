"""Failed payments the merchant should chase: opened on failure, cleared by a later success.

A follow-up is opened when a payment fails for an order nothing has paid yet; a success for the
order clears it (``orders.clear_follow_ups``, called wherever a payment is recorded). It is
*due*, and listed, once the policy's ``follow_up_after_hours`` have passed without a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

import policies
from refunds_plugin.money import Money
from refunds_plugin.orders import open_follow_up
from refunds_plugin.tables import follow_ups, orders, payments


def note_failed_payment(
    conn: Connection,
    policy: policies.Policy,
    *,
    order_id: str,
    reference: str,
    currency: str,
    amount: int,
    customer_email: str | None,
    detail: str,
    now: datetime,
) -> str:
    """Open a follow-up for a failed payment unless the order is paid already."""
    if not policy.trouble.failed_payment.enabled:
        return "failed-payment follow-ups are switched off in the policy"
    paid = conn.execute(
        select(func.count())
        .select_from(payments)
        .where(payments.c.order_id == order_id, payments.c.status != "failed")
    ).scalar_one()
    if paid:
        return "the order is paid by another payment: no follow-up"
    open_follow_up(
        conn,
        kind="failed_payment",
        order_id=order_id,
        payment_reference=reference,
        currency=currency,
        amount=amount,
        customer_email=customer_email,
        detail=detail,
        now=now,
    )
    return "follow-up opened"


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
    payment_reference: str | None
    amount: Money | None
    customer: str  # email, or the customer id, or "" when we know neither
    detail: str
    opened_at: datetime
    due_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "payment_reference": self.payment_reference,
            "amount": self.amount.minor if self.amount else None,
            "currency": self.amount.currency if self.amount else None,
            "amount_text": str(self.amount) if self.amount else "",
            "customer": self.customer,
            "what_failed": self.detail,
            "opened_at": self.opened_at.isoformat(),
            "due_at": self.due_at.isoformat(),
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def open_items(
    conn: Connection, policy: policies.Policy, now: datetime, *, waiting: bool = False
) -> list[FollowUp]:
    """Open follow-ups, oldest first: only those due unless ``waiting`` is asked for too."""
    wait = timedelta(hours=policy.trouble.failed_payment.follow_up_after_hours)
    rows = conn.execute(
        select(follow_ups, orders.c.customer_email.label("order_email"), orders.c.customer_id)
        .select_from(follow_ups.outerjoin(orders, orders.c.order_id == follow_ups.c.order_id))
        .where(follow_ups.c.status == "open", follow_ups.c.kind == "failed_payment")
        .order_by(follow_ups.c.created_at, follow_ups.c.id)
    ).all()
    out = []
    for row in rows:
        opened = _aware(row.created_at)
        if opened + wait > now and not waiting:
            continue
        amount = None
        if row.amount is not None and row.currency:
            amount = Money(int(row.amount), row.currency)
        out.append(
            FollowUp(
                order_id=row.order_id,
                payment_reference=row.payment_reference,
                amount=amount,
                customer=row.customer_email or row.order_email or row.customer_id or "",
                detail=row.detail or "",
                opened_at=opened,
                due_at=opened + wait,
            )
        )
    return out
