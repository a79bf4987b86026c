"""The review queue: an admin approves or declines what the policy (or a failed payout) sent to
a person, once, with a note. Every decision is journalled; an approval creates the decision's
attempts, which the executor then carries out like any other decision's. Approving a review
opened by a failed payout pays it again (``_pay_again``). An approval may change the amount,
waive the fees or give store credit instead (``adjustments``), within what is refundable; the
change is journalled in the same ``review_decided`` entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select

import policies
from refunds_plugin import routing
from refunds_plugin.config import Config
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import LIVE, AttemptStatus, ResolutionKind
from refunds_plugin.errors import InputError, NotFound, UnreadableRecord
from refunds_plugin.exchanges import difference
from refunds_plugin.exchanges.shipping import exchange_approved
from refunds_plugin.intake import physical, withdrawals
from refunds_plugin.intake.adjustments import (
    Adjustment,
    NotRefundable,
    adjusted,
    check_steps,
    journal_body,
)
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger import saleor_returns
from refunds_plugin.ledger.attempt_reads import outcome_unknown
from refunds_plugin.ledger.attempts import (
    AttemptRow,
    cancel_held,
    release_held,
    requeue,
    retry_attempt,
    write_attempts,
)
from refunds_plugin.ledger.db import lock_order, write_tx
from refunds_plugin.ledger.decisions import foreign_payments
from refunds_plugin.ledger.exchange_dues import SALE, refund_of
from refunds_plugin.ledger.exchanges import get_exchange, open_exchange
from refunds_plugin.ledger.exchanges import restart as restart_exchange
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.retries import replaced_attempts as _replaced
from refunds_plugin.ledger.reviews import close_review, record_adjustment
from refunds_plugin.ledger.tables import decisions, orders, refund_attempts, reviews
from refunds_plugin.money import Money
from refunds_plugin.notify import stored
from refunds_plugin.notify.causes import review_closed

EXPIRED_NOTE = "return expired"  # ``shipping.returns.expire``'s reason on canceled attempts


class Reviewing(Protocol):
    """What deciding a review needs of the service, and no more: the policy (the abuse window),
    the config (which provider pays), the executor's nudge, and an approved exchange's next
    steps. ``intake.service.Service`` is one."""

    policy: policies.Policy
    config: Config

    def nudge(self, attempt_ids: tuple[str, ...]) -> None: ...

    def exchange_of(self, decision_id: str, *, advance: bool = False) -> Any: ...


@dataclass(frozen=True)
class ReviewOutcome:
    decision_id: str
    status: str  # approved | declined
    attempt_ids: tuple[str, ...]
    order_id: str = ""  # what a person recognises: confirmations name the order
    adjusted: dict[str, Any] | None = None  # the journalled change, when the admin made one


def open_reviews(conn: Connection, limit: int = 100, offset: int = 0) -> list[Any]:
    """The reviews waiting for a person, oldest first, with their decisions' figures."""
    return list(conn.execute(
        select(reviews, decisions.c.order_id, decisions.c.amount, decisions.c.currency,
               decisions.c.customer_email, decisions.c.explanation, decisions.c.request,
               decisions.c.refund_amount, decisions.c.credit_amount, decisions.c.resolution,
               decisions.c.body, decisions.c.said, orders.c.locale, decisions.c.chosen_locale,
               decisions.c.facts)
        .join(decisions, decisions.c.id == reviews.c.decision_id)
        .outerjoin(orders, orders.c.order_id == decisions.c.order_id)
        .where(reviews.c.status == "open")
        .order_by(reviews.c.opened_at, reviews.c.id)
        .limit(limit)
        .offset(offset)
    ))


def review_queue(engine: Engine, limit: int = 100) -> list[Any]:
    """``open_reviews`` in a read of its own, for the finance page."""
    with engine.connect() as conn:
        return open_reviews(conn, limit)


def decide(
    engine: Engine,
    service: Reviewing,
    decision_id: str,
    *,
    approve: bool,
    by: str,
    note: str,
    now: datetime,
    customer_note: str = "",
    change: Adjustment | None = None,
) -> ReviewOutcome:
    """Approve (create the attempts, after re-checking what is still refundable) or decline.

    ``note`` is internal; ``customer_note``, when given, is what the customer's status page
    shows (journalled under its own key, absent when not given, so older entries keep their
    exact bytes). ``change`` (approvals only) pays a different amount, without the fees, or
    as store credit, within what the order still has to give back; a refusal records nothing.
    """
    note, customer_note = note.strip(), customer_note.strip()[:2000]
    if not note:
        raise InputError("a note saying why is required", code="note_required")
    status = "approved" if approve else "declined"
    change = change if change is not None and not change.empty else None
    if change is not None and not approve:
        raise InputError("an amount, fee or credit change goes with an approval, not a decline",
                         code="change_on_decline")
    with write_tx(engine) as conn:
        order_id = conn.execute(
            select(decisions.c.order_id).where(decisions.c.id == decision_id)).scalar()
        if order_id is not None:  # unknown: close_review says so
            lock_order(conn, order_id)
        close_review(conn, decision_id, status, by, note, now)
        row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).one()
        try:
            decision = Decision.from_dict(json.loads(row.body))
        except stored.UNREADABLE as exc:  # rolled back: the review stays open for a person
            raise UnreadableRecord(
                f"decision {decision_id}'s stored body (decisions.body) cannot be read "
                f"({stored.why(exc)}); a person must repair the row first",
                code="unreadable_record") from None
        attempt_ids: list[str] = []
        requeued: list[str] = []
        given_back: str | None = None  # a declined exchange's paid difference, refunded
        existing = list(conn.execute(
            select(refund_attempts).where(refund_attempts.c.decision_id == decision_id)
            .order_by(refund_attempts.c.seq)
        ))
        window = service.policy.abuse_window_days
        changed: dict[str, Any] | None = None
        if change is not None and existing:
            raise InputError("this review pays a failed payout again; its amount cannot be "
                             "changed here", code="change_on_retry")
        held = any(r.status == AttemptStatus.HELD for r in existing)
        if approve and held:
            # a person accepts what the parcel showed (a receipt that differed from the claim)
            attempt_ids = list(release_held(conn, decision_id, now, "review approved"))
        elif held:
            cancel_held(conn, decision_id, now, "review declined")
        elif approve and not existing:
            facts = _facts(conn, row.order_id, now, window)
            if change is not None:
                _keep_the_law(decision, change)
                was, decision = decision, adjusted(decision, facts.payments, change)
                changed = journal_body(was, decision, change)
                record_adjustment(conn, decision_id, decision)
            _check_refundable(decision, facts.payments)
            _check_currency(conn, row.order_id, decision)
            check_steps(decision, facts)  # never approve what the provider will refuse
            # a withdrawal's return keeps its statutory terms (money held at most to first scan)
            terms = withdrawals.terms_for(service.policy, decision.policy_name)
            waits = physical.held_kinds(terms, service.config, decision) \
                if decision.return_required and row.kind == "return" else frozenset()
            written = write_attempts(
                conn, decision_id, decision, facts, routing.route(service.config, facts), now,
                waits,
            )
            if row.kind == "return":  # the items come back as for any approval
                physical.open_for(conn, decision_id, decision, facts, terms,
                                  service.config, now)
                saleor_returns.open_for(conn, decision_id, decision, facts, row.request_key,
                                        written, now)
            attempt_ids = [row["id"] for row in written]
            if decision.exchange is not None:  # an exchange a person approved goes ahead now
                open_exchange(conn, decision_id, row.order_id, decision.currency,
                              decision.exchange, now)
                exchange_approved(conn, decision_id, now)
        elif approve:
            attempt_ids, requeued = _pay_again(conn, row.order_id, existing, now, window)
        if approve and decision.exchange is not None:  # one that failed takes up again
            failed = get_exchange(conn, decision_id)
            if failed is not None:
                restart_exchange(conn, failed, now)
        elif decision.exchange is not None:  # one that failed ends: a paid difference goes back
            given_back = difference.on_decline(conn, decision_id, now)
        body: dict[str, Any] = {
            "status": status, "decided_by": by, "note": note, "attempt_ids": attempt_ids,
        }
        if requeued:
            body["requeued"] = requeued
        if customer_note:
            body["customer_note"] = customer_note
        if changed is not None:
            body["adjusted"] = changed
        entry = append_entry(conn, "review_decided", decision_id, body, now)
        review_closed(conn, decision_id=decision_id, decision=decision, status=status,
                      customer_note=customer_note, entry_hash=entry, now=now,
                      dry_run=_test_mode(conn, service.config, row.order_id, now, window))
        attempt_ids = [*attempt_ids, *requeued]
    service.nudge(tuple(attempt_ids) + ((given_back,) if given_back else ()))
    if approve and decision.exchange is not None:
        service.exchange_of(decision_id, advance=True)  # its Checkout Session, or shipped
    return ReviewOutcome(decision_id, status, tuple(attempt_ids), row.order_id, changed)


def _keep_the_law(decision: Decision, change: Adjustment) -> None:
    """A withdrawal's return gives back at least what the law gives, to the original payment:
    a person may give more, never less, and never store credit instead."""
    if not withdrawals.is_withdrawal(decision.policy_name):
        return
    if change.to_credit:
        raise InputError("a withdrawal is refunded to the original payment; store credit "
                         "cannot replace it", code="withdrawal_minimum")
    if change.amount is not None and change.amount < decision.amount:
        raise InputError(f"a withdrawal's refund cannot be less than the "
                         f"{Money(decision.amount, decision.currency)} the law gives",
                         code="withdrawal_minimum")


def _facts(conn: Connection, order_id: str, now: datetime, window_days: int) -> OrderFacts:
    """The order's facts; an order known only from its payments (a Stripe-only shop) too."""
    facts = facts_mod.load_facts(conn, order_id, now, window_days)
    if facts is not None:
        return facts
    if not facts_mod.payment_facts(conn, order_id):
        raise NotFound(f"order {order_id} is unknown", code="unknown_order")
    return facts_mod.facts_for(conn, order_id, now, window_days)


def _test_mode(conn: Connection, config: Config, order_id: str, now: datetime,
               window_days: int) -> bool:
    """Whether the order's money would not really move (the dry run, or Stripe with a test key),
    as its pages and the first answer say (``Service.dry_run_for``; an order known to nobody:
    whether any money moves at all)."""
    facts = facts_mod.load_facts(conn, order_id, now, window_days)
    if facts is None:
        return routing.no_money_moves(config)
    return routing.test_mode(config, routing.route(config, facts).values())


def _pay_again(
    conn: Connection, order_id: str, rows: list[Any], now: datetime, window_days: int
) -> tuple[list[str], list[str]]:
    """An approved review of a failed payout: pay again, once. Nothing while an attempt is live.
    A finally refused attempt (nothing moved) gets a new attempt with a new idempotency key,
    after the remainder is re-checked; one whose outcome is unknown is requeued with its own key,
    so if the money did move the provider replays it instead of paying twice."""
    if any(r.status in LIVE for r in rows):
        return [], []
    unknown = [r for r in rows if outcome_unknown(r.status, r.last_error)]
    done = {u.id for u in unknown} | _replaced(conn, [r.id for r in rows])
    refused = [r for r in rows if r.id not in done and (
        r.status == AttemptStatus.FAILED
        # held money canceled when its return expired, and a person accepts the late parcel
        or (r.status == AttemptStatus.CANCELED
            and (r.last_error or "").startswith(EXPIRED_NOTE)))]
    # a failed (or canceled) attempt no longer reserves its amount; one giving back a payment
    # made for an exchange (its original due, its difference) refunds that payment, not the
    # order's: it pays again exactly what the refused one moved nothing of
    freed = [r for r in [*refused, *unknown]
             if r.status in (AttemptStatus.FAILED, AttemptStatus.CANCELED)
             and refund_of(r.seq) == SALE]
    if freed:
        facts = _facts(conn, order_id, now, window_days)
        _check_fits([(r.kind, r.payment_reference, int(r.amount)) for r in freed], facts.payments,
                    facts.currency)
    note = "review approved"
    new = [retry_attempt(conn, AttemptRow.from_row(r), now, f"{note}: replaces {r.id}")
           for r in refused]
    again = [r.id for r in unknown
             if requeue(conn, AttemptRow.from_row(r), now, f"{note}: same idempotency key")]
    return new, again


def _check_currency(conn: Connection, order_id: str, decision: Decision) -> None:
    """A refund never goes to a payment taken in another currency (its provider would read the
    amount in the payment's): refused, so a person gives store credit or refunds by hand."""
    found = foreign_payments(conn, order_id, decision)
    if found:
        raise InputError("; ".join(found.values()) + ": approve it as store credit, or refund "
                         "it at the provider by hand and decline here", code="currency_mismatch")


def _check_refundable(decision: Decision, payments: Any) -> None:
    _check_fits(
        [(res.kind.value, res.payment_reference, res.amount) for res in decision.resolutions],
        payments, decision.currency,
    )


def _check_fits(wanted: list[tuple[str, str | None, int]], payments: Any, currency: str
                ) -> None:
    """Raise ``NotRefundable`` unless every refund fits what its payment still has to give."""
    left = {p.reference: p.refundable for p in payments}
    for kind, reference, amount in wanted:
        if kind != ResolutionKind.REFUND.value or amount <= 0:
            continue
        have = left.get(reference or "", 0)
        if amount > have:
            raise NotRefundable(
                f"payment {reference} has {Money(have, currency)} left to refund; "
                f"this decision would refund {Money(amount, currency)}"
            )
        left[reference or ""] = have - amount
