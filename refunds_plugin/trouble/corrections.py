"""Deciding the trouble the detectors find: after a payment is recorded or an order total learnt.

The provider-specific triggers call these: ``stripe.events.after_event`` (a payment succeeded
or failed) and ``saleor.events.after_saleor_order`` (Saleor flags an overcharge). Each runs
inside the caller's event transaction, so the correction is recorded with the event or not at
all. ``correct`` takes the ledger lock before it looks, so two events for one order decide one
after the other and the second sees the first's correction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select, update

import policies
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import lock_ledger
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.order_updates import was_updated
from refunds_plugin.ledger.orders import clear_follow_ups
from refunds_plugin.ledger.tables import payments, provider_refunds
from refunds_plugin.routing import Route
from refunds_plugin.trouble.detectors import Finding, plan


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


def correct(
    conn: Connection,
    policy: policies.Policy,
    route: Route,
    order_id: str,
    now: datetime,
    trigger: str,
    cap: int | None = None,
) -> list[Corrected]:
    """Find and decide this order's trouble; ``cap`` limits the total (a provider's own figure)."""
    lock_ledger(conn)
    out = []
    updated: bool | None = None  # read once, only when there is something to correct
    for finding in plan(conn, policy, order_id):
        amount = finding.amount if cap is None else min(finding.amount, cap)
        if amount <= 0:
            continue
        if cap is not None:
            cap -= amount
        order_facts = facts_mod.facts_for(conn, order_id, now, policy.abuse_window_days)
        if updated is None:
            updated = was_updated(conn, order_id)
        decision = policies.evaluate_correction(
            policy,
            order_facts,
            finding.kind,
            amount,
            finding.payment_reference,
            now,
            finding.detail,
            order_total_known=finding.order_total_known,
            unconfirmed=finding.unconfirmed,
            order_updated=updated,
        )
        recorded = record_decision(
            conn,
            decision=decision,
            facts=order_facts,
            request={**finding.to_json(), "amount": amount, "trigger": trigger},
            request_key=finding.request_key,
            route=route(order_facts),
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


def after_order_paid(
    conn: Connection, policy: policies.Policy, route: Route, order_id: str, now: datetime
) -> Woken:
    """The order total is known now: payments that arrived before it may add up to too much."""
    return woken(correct(conn, policy, route, order_id, now, "order.paid"))
