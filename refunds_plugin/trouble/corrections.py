"""What wakes the trouble detectors: a payment recorded, an order total learnt, a Saleor flag.

Each entry point runs inside the caller's event transaction, so the correction is recorded with
the event or not at all. ``correct`` takes the ledger lock before it looks, so two events for one
order decide one after the other and the second sees the first's correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

import policies
from refunds_plugin.domain import Customer, OrderFacts
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import lock_ledger
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.orders import clear_follow_ups
from refunds_plugin.ledger.tables import payments, provider_refunds
from refunds_plugin.money import normalize_currency
from refunds_plugin.trouble import follow_ups
from refunds_plugin.trouble.detectors import Finding, plan

if TYPE_CHECKING:
    from refunds_plugin.intake.service import Service

SUCCEEDED = ("payment_intent.succeeded", "charge.succeeded")
FAILED = "payment_intent.payment_failed"


@dataclass(frozen=True)
class Corrected:
    finding: Finding
    decision_id: str
    outcome: str
    created: bool  # False when this finding had been decided before
    attempt_ids: tuple[str, ...]


@dataclass(frozen=True)
class Woken:
    """What a trigger did: a note for the event row, attempts to nudge the executor with."""

    note: str | None = None
    attempt_ids: tuple[str, ...] = ()


def facts_for(
    conn: Connection, policy: policies.Policy, order_id: str, now: datetime
) -> OrderFacts:
    """The order's facts; for a payment-only order (no storefront total yet), what we know."""
    found = facts_mod.load_facts(conn, order_id, now, policy.abuse_window_days)
    if found is not None:
        return found
    pays = facts_mod.payment_facts(conn, order_id)
    first = conn.execute(
        select(payments.c.currency, payments.c.customer_id, payments.c.customer_email)
        .where(payments.c.order_id == order_id, payments.c.status != "failed")
        .order_by(payments.c.created_at, payments.c.reference)
        .limit(1)
    ).one()
    customer = Customer(id=first.customer_id, email=first.customer_email)
    return OrderFacts(
        order_id=order_id,
        currency=first.currency,
        lines=(),
        shipping_amount=0,
        total_amount=0,  # not known: only the payments have arrived
        customer=customer,
        payments=pays,
        refund_increment=facts_mod.step_for(pays, first.currency),
        history=facts_mod.customer_history(conn, customer, now, policy.abuse_window_days),
        source=pays[0].provider if pays else "stripe",
    )


def correct(
    conn: Connection,
    service: Service,
    order_id: str,
    now: datetime,
    trigger: str,
    cap: int | None = None,
) -> list[Corrected]:
    """Find and decide this order's trouble; ``cap`` limits the total (a provider's own figure)."""
    lock_ledger(conn)
    out = []
    for finding in plan(conn, service.policy, order_id):
        amount = finding.amount if cap is None else min(finding.amount, cap)
        if amount <= 0:
            continue
        if cap is not None:
            cap -= amount
        order_facts = facts_for(conn, service.policy, order_id, now)
        decision = policies.evaluate_correction(
            service.policy,
            order_facts,
            finding.kind,
            amount,
            finding.payment_reference,
            now,
            finding.detail,
            order_total_known=finding.order_total_known,
        )
        recorded = record_decision(
            conn,
            decision=decision,
            facts=order_facts,
            request={**finding.to_json(), "amount": amount, "trigger": trigger},
            request_key=finding.request_key,
            route=service.route(order_facts),
            now=now,
        )
        created = recorded.created
        out.append(
            Corrected(
                replace(finding, amount=amount),
                recorded.id,
                recorded.decision.outcome.value,
                created,
                recorded.attempt_ids if created else (),
            )
        )
    return out


def woken(done: list[Corrected], extra: str | None = None) -> Woken:
    new = [c for c in done if c.created]
    parts = [extra] if extra else []
    parts += [
        f"{c.finding.kind.value} {c.finding.amount} on {c.finding.payment_reference}: {c.outcome}"
        for c in new
    ]
    ids = tuple(i for c in new for i in c.attempt_ids)
    return Woken("; ".join(parts) or None, ids)


def adopt_payment(
    conn: Connection, provider: str, reference: str, created: datetime | None, now: datetime
) -> str | None:
    """After a payment is recorded: take the provider's time, link early refunds, clear follow-ups.

    The provider's creation time orders payments (the first is the legitimate one) whatever
    order their events arrive in. A refund event that arrived before its payment was stored
    without an order; linking it here lets the detectors count it. Returns the order id.
    """
    if created is not None:
        conn.execute(
            update(payments)
            .where(
                payments.c.provider == provider,
                payments.c.reference == reference,
                payments.c.created_at > created,
            )
            .values(created_at=created)
        )
    order_id = conn.execute(
        select(payments.c.order_id).where(
            payments.c.provider == provider, payments.c.reference == reference
        )
    ).scalar_one_or_none()
    if order_id is None:
        return None
    conn.execute(
        update(provider_refunds)
        .where(
            provider_refunds.c.provider == provider,
            provider_refunds.c.payment_reference == reference,
            provider_refunds.c.order_id.is_(None),
        )
        .values(order_id=order_id)
    )
    clear_follow_ups(conn, order_id, now)
    return str(order_id)


# --- Stripe --------------------------------------------------------------------------------------


def _stripe_reference(type_: str, obj: dict[str, Any]) -> str:
    if type_ == "charge.succeeded":
        pi = obj.get("payment_intent")
        pi = pi.get("id") if isinstance(pi, dict) else pi
        return pi if isinstance(pi, str) and pi else str(obj["id"])
    return str(obj["id"])


def _stripe_time(obj: dict[str, Any]) -> datetime | None:
    created = obj.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, UTC)
    return None


def after_stripe_event(
    service: Service, conn: Connection, type_: str, obj: dict[str, Any], now: datetime
) -> Woken:
    """After a Stripe handler, in its transaction: detectors on success, follow-up on failure."""
    if type_ in SUCCEEDED:
        if type_ == "charge.succeeded" and not obj.get("captured", True):
            return Woken()
        ref = _stripe_reference(type_, obj)
        order_id = adopt_payment(conn, "stripe", ref, _stripe_time(obj), now)
        if order_id is None:
            return Woken()
        return woken(correct(conn, service, order_id, now, f"stripe:{type_}"))
    if type_ == FAILED:
        order_id = (obj.get("metadata") or {}).get("order_id")
        if not order_id:
            return Woken("failed payment without an order id: no follow-up")
        note = follow_ups.note_failed_payment(
            conn,
            service.policy,
            order_id=str(order_id),
            reference=str(obj["id"]),
            currency=normalize_currency(obj["currency"]),
            amount=int(obj.get("amount") or 0),
            customer_email=follow_ups.stripe_email(obj),
            detail=follow_ups.stripe_failure(obj),
            now=now,
        )
        return Woken(note)
    return Woken()


# --- the storefront and Saleor -------------------------------------------------------------------


def after_order_paid(service: Service, conn: Connection, order_id: str, now: datetime) -> Woken:
    """The order total is known now: payments that arrived before it may add up to too much."""
    return woken(correct(conn, service, order_id, now, "order.paid"))


def after_saleor_order(
    service: Service,
    conn: Connection,
    order_id: str,
    *,
    charge_status: str | None,
    total_balance: int | None,
    transactions: Mapping[str, datetime | None],
    now: datetime,
) -> Woken:
    """For the Saleor event handler, in its transaction, after it stored the re-queried order
    and its transactions (provider ``saleor``, reference = transaction id).

    ``transactions`` maps each transaction id to its ``createdAt``, which orders the payments
    (Saleor's own time, not ours). Saleor flags an overcharge with ``chargeStatus`` OVERCHARGED
    or a positive ``totalBalance`` (minor units); only then do the detectors run, and the
    correction never exceeds Saleor's own balance when it gives one.
    """
    for reference, created in sorted(transactions.items()):
        adopt_payment(conn, "saleor", reference, created, now)
    overcharged = charge_status == "OVERCHARGED" or (total_balance or 0) > 0
    if not overcharged:
        return Woken()
    cap = total_balance if total_balance is not None and total_balance > 0 else None
    return woken(correct(conn, service, order_id, now, "saleor:overcharged", cap))
