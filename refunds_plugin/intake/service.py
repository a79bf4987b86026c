"""The service layer: one database transaction per incoming event.

Record the event in the inbox (duplicates stop there), gather the facts, ask the policy, and
store the decision with its refund attempts, all before the sender gets its 2xx. Money moves
later, in the executor, under the attempt's deterministic idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

import policies
from refunds_plugin.config import Config
from refunds_plugin.domain import OrderFacts, ResolutionKind, ReturnRequest
from refunds_plugin.errors import NotFound
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.db import lock_ledger, write_tx
from refunds_plugin.ledger.decisions import RecordedDecision, find_decision, record_decision
from refunds_plugin.ledger.journal import mark_event, record_event
from refunds_plugin.ledger.orders import OrderRecord, clear_follow_ups, record_payment, upsert_order
from refunds_plugin.ledger.tables import refund_attempts
from refunds_plugin.stripe import refunded_total as stripe_refunded
from refunds_plugin.trouble import corrections as trouble_events

log = logging.getLogger("refunds.service")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PaymentRecord:
    provider: str
    reference: str
    amount: int


@dataclass(frozen=True)
class Ack:
    """What the sender is told: recorded now, or recognised as a duplicate."""

    duplicate: bool
    event_row: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A decided return request, as the storefront shows it to the customer."""

    recorded: RecordedDecision
    duplicate: bool
    attempts: tuple[AttemptRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = self.recorded.decision
        return {
            "decision_id": self.recorded.id,
            "duplicate": self.duplicate,
            "outcome": d.outcome.value,
            "resolution": d.resolution_summary,
            "amount": d.amount,
            "refund_amount": d.refund_amount,
            "credit_amount": d.credit_amount,
            "currency": d.currency,
            "return_required": d.return_required,
            "reason_code": d.reason_code,
            "explanation": d.explanation,
            "dry_run": any(a.provider == "dryrun" for a in self.attempts),
            "attempts": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "amount": a.amount,
                    "bonus": a.bonus,
                    "status": a.status,
                    "provider": a.provider,
                    "credit_code": a.credit_code,
                }
                for a in self.attempts
            ],
        }


class Service:
    def __init__(
        self, engine: Engine, policy: policies.Policy, config: Config, clock: Clock = utcnow
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.config = config
        self.clock = clock
        self.on_attempts: Callable[[tuple[str, ...]], None] | None = None  # executor nudge
        # re-reads an order from its source before a return is decided (the Saleor app sets it)
        self.refresh_order: Callable[[str], None] | None = None

    # --- routing ------------------------------------------------------------------------------
    def provider_for(self, payment_provider: str) -> str:
        """Which provider executes money for a payment of ``payment_provider``."""
        if payment_provider == "stripe":
            return "dryrun" if self.config.dry_run else "stripe"
        if payment_provider == "saleor":
            return "saleor"
        # A provider we cannot call: in dry-run mode nothing moves anyway; live, the attempt
        # names the provider, the executor finds none and sends it to a person (never "paid").
        return "dryrun" if self.config.dry_run else payment_provider

    def route(self, order_facts: OrderFacts) -> dict[str, str]:
        route = {p.reference: self.provider_for(p.provider) for p in order_facts.payments}
        first = order_facts.payments[0].provider if order_facts.payments else order_facts.source
        route["credit"] = self.provider_for("saleor" if order_facts.source == "saleor" else first)
        return route

    # --- storefront events --------------------------------------------------------------------
    def order_paid(
        self,
        source: str,
        event_id: str,
        type_: str,
        payload: str,
        order: OrderRecord,
        payment: PaymentRecord | None,
    ) -> Ack:
        now = self.clock()
        with write_tx(self.engine) as conn:
            row = record_event(conn, source, event_id, type_, payload, now, "processed")
            if row is None:
                return Ack(duplicate=True)
            upsert_order(conn, order, now)
            if payment is not None:
                record_payment(
                    conn,
                    provider=payment.provider,
                    reference=payment.reference,
                    order_id=order.order_id,
                    currency=order.currency,
                    captured=payment.amount,
                    customer=order.customer,
                    now=now,
                )
                if payment.provider == "stripe":  # a charge.refunded may have come first
                    stripe_refunded.settle(conn, payment.reference, now)
                clear_follow_ups(conn, order.order_id, now)
            found = trouble_events.after_order_paid(self, conn, order.order_id, now)
            if found.note is not None:
                mark_event(conn, row, "processed", found.note)
        if found.attempt_ids and self.on_attempts:
            self.on_attempts(found.attempt_ids)
        log.info("order recorded", extra={"event_id": event_id, "order_id": order.order_id})
        return Ack(duplicate=False, event_row=row)

    def return_requested(
        self, source: str, event_id: str, type_: str, payload: str, request: ReturnRequest
    ) -> Answer:
        """Decide a return request once, however often and however concurrently it arrives."""
        if self.refresh_order is not None:
            self.refresh_order(request.order_id)
        now = self.clock()
        request_key = f"return:{request.request_id}"
        with write_tx(self.engine) as conn:
            lock_ledger(conn)  # money checks and the chain are serialised from here to commit
            row = record_event(conn, source, event_id, type_, payload, now, "processed")
            if row is None:  # a redelivery: answer with what was decided
                existing = find_decision(conn, request.order_id, request_key)
                if existing is None:
                    # the event was recorded before but its decision is not there: it was not
                    # for this request (an id reused by the sender); refuse rather than guess
                    raise NotFound(
                        f"event {event_id} was already recorded for something else",
                        code="event_id_reused",
                    )
                recorded, duplicate = existing, True
            else:
                order_facts = facts_mod.load_facts(
                    conn, request.order_id, now, self.policy.abuse_window_days
                )
                if order_facts is None:
                    raise NotFound(
                        f"order {request.order_id} is unknown: send order.paid first",
                        code="unknown_order",
                    )
                when = request.requested_at or now
                decision = policies.evaluate(self.policy, order_facts, request, when)
                # unique per (order, request): a request decided before under another event id
                # comes back as that decision, and this one is not stored
                recorded = record_decision(
                    conn,
                    decision=decision,
                    facts=order_facts,
                    request=request,
                    request_key=request_key,
                    route=self.route(order_facts),
                    now=now,
                    event_row=row,
                )
                duplicate = not recorded.created
                if duplicate:
                    mark_event(conn, row, "processed", "request decided before")
        log.info(
            "return decided",
            extra={
                "event_id": event_id,
                "decision_id": recorded.id,
                "outcome": recorded.decision.outcome.value,
            },
        )
        if recorded.attempt_ids and self.on_attempts and not duplicate:
            self.on_attempts(recorded.attempt_ids)
        if recorded.created:  # the rows this transaction wrote: no need to read them back
            return Answer(recorded, duplicate, tuple(map(AttemptRow.written, recorded.written)))
        return Answer(recorded, duplicate, self.attempts_of(recorded.id))

    def attempts_of(self, decision_id: str) -> tuple[AttemptRow, ...]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(refund_attempts)
                .where(refund_attempts.c.decision_id == decision_id)
                .order_by(refund_attempts.c.seq)
            ).all()
        return tuple(AttemptRow.from_row(r) for r in rows)

    def wants_code(self, answer: Answer) -> bool:
        """A store-credit answer is worth a short wait: the customer wants the code now."""
        return any(r.kind is ResolutionKind.CREDIT for r in answer.recorded.decision.resolutions)
