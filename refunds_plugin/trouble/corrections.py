"""Deciding the trouble the detectors find: after a payment is recorded or an order total learnt.

The provider-specific triggers call these: ``stripe.events.after_event`` (a payment succeeded
or failed) and ``saleor.events.after_saleor_order`` (Saleor flags an overcharge). Each runs
inside the caller's event transaction, so the correction is recorded with the event or not at
all. ``correct`` takes the order's lock before it looks, so two events for one order decide one
after the other and the second sees the first's correction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection

import policies
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import lock_order
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.order_updates import was_updated
from refunds_plugin.ledger.orders import link_payment
from refunds_plugin.money import written
from refunds_plugin.routing import Route
from refunds_plugin.trouble.detectors import Finding, plan
from refunds_plugin.trouble.follow_ups import clear_follow_ups


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
    lock_order(conn, order_id)
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
        f"{c.finding.kind.value} {written(c.finding.amount, c.finding.currency)} on "
        f"{c.finding.payment_reference}: {c.outcome}"
        for c in new
    ]
    ids = tuple(i for c in new for i in c.attempt_ids)
    return Woken("; ".join(parts) or None, ids)


def adopt_payment(
    conn: Connection, provider: str, reference: str, created: datetime | None, now: datetime,
    *, clears: bool = True,
) -> str | None:
    """After a payment is recorded: the ledger takes the provider's time and links early
    refunds (``ledger.orders.link_payment``); the order's follow-ups are cleared, unless
    ``clears`` is false (a payment in Stripe's test mode paid no one). Returns the order id."""
    order_id = link_payment(conn, provider, reference, created)
    if order_id is not None and clears:
        clear_follow_ups(conn, order_id, now)
    return order_id


def after_order_paid(
    conn: Connection, policy: policies.Policy, route: Route, order_id: str, now: datetime
) -> Woken:
    """The order total is known now: payments that arrived before it may add up to too much."""
    return woken(correct(conn, policy, route, order_id, now, "order.paid"))
