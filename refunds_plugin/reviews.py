"""The review queue: an admin approves or declines what the policy (or a failed payout) sent to
a person, once, with a note. Every decision is journalled; an approval creates the decision's
attempts, which the executor then carries out like any other decision's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from refunds_plugin import facts as facts_mod
from refunds_plugin.db import lock_ledger, write_tx
from refunds_plugin.domain import Decision, ResolutionKind
from refunds_plugin.errors import InputError, NotFound
from refunds_plugin.ledger import append_entry, create_attempts
from refunds_plugin.service import Service
from refunds_plugin.tables import decisions, refund_attempts, reviews


class ReviewClosed(InputError):
    """The review was decided before (by someone else, or by an earlier click)."""

    code = "review_closed"


class NotRefundable(InputError):
    """Approving would pay out more than the order still has to give back."""

    code = "not_refundable"


@dataclass(frozen=True)
class ReviewOutcome:
    decision_id: str
    status: str  # approved | declined
    attempt_ids: tuple[str, ...]


def open_reviews(conn: Connection, limit: int = 100, offset: int = 0) -> list[Any]:
    return list(
        conn.execute(
            select(reviews, decisions.c.order_id, decisions.c.amount, decisions.c.currency,
                   decisions.c.customer_email, decisions.c.explanation)
            .join(decisions, decisions.c.id == reviews.c.decision_id)
            .where(reviews.c.status == "open")
            .order_by(reviews.c.opened_at, reviews.c.id)
            .limit(limit)
            .offset(offset)
        )
    )


def _close(
    conn: Connection, decision_id: str, status: str, by: str, note: str, now: datetime
) -> None:
    """The guarded UPDATE: only an open review can be decided, and only once."""
    done = conn.execute(
        update(reviews)
        .where(reviews.c.decision_id == decision_id, reviews.c.status == "open")
        .values(status=status, decided_by=by, note=note, decided_at=now)
    ).rowcount
    if done != 1:
        exists = conn.execute(
            select(reviews.c.status).where(reviews.c.decision_id == decision_id)
        ).scalar_one_or_none()
        if exists is None:
            raise NotFound(f"decision {decision_id} has no review", code="no_review")
        raise ReviewClosed(f"the review of decision {decision_id} was already {exists}")


def decide(
    engine: Engine,
    service: Service,
    decision_id: str,
    *,
    approve: bool,
    by: str,
    note: str,
    now: datetime,
) -> ReviewOutcome:
    """Approve (create the attempts, after re-checking what is still refundable) or decline."""
    note = note.strip()
    if not note:
        raise InputError("a note saying why is required", code="note_required")
    status = "approved" if approve else "declined"
    with write_tx(engine) as conn:
        lock_ledger(conn)
        _close(conn, decision_id, status, by, note, now)
        row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).one()
        decision = Decision.from_dict(json.loads(row.body))
        attempt_ids: list[str] = []
        existing = conn.execute(
            select(refund_attempts.c.id).where(refund_attempts.c.decision_id == decision_id)
        ).first()
        if approve and existing is None:
            facts = facts_mod.load_facts(conn, row.order_id, now, service.policy.abuse_window_days)
            if facts is None:
                raise NotFound(f"order {row.order_id} is unknown", code="unknown_order")
            _check_refundable(decision, facts.payments)
            attempt_ids = create_attempts(
                conn, decision_id, decision, facts, service.route(facts), now
            )
        append_entry(
            conn,
            "review_decided",
            decision_id,
            {"status": status, "decided_by": by, "note": note, "attempt_ids": attempt_ids},
            now,
        )
    if attempt_ids and service.on_attempts:
        service.on_attempts(tuple(attempt_ids))
    return ReviewOutcome(decision_id, status, tuple(attempt_ids))


def _check_refundable(decision: Decision, payments: Any) -> None:
    left = {p.reference: p.refundable for p in payments}
    for res in decision.resolutions:
        if res.kind is not ResolutionKind.REFUND or res.amount <= 0:
            continue
        have = left.get(res.payment_reference or "", 0)
        if res.amount > have:
            raise NotRefundable(
                f"payment {res.payment_reference} has {have} left to refund; "
                f"this decision would refund {res.amount}"
            )
        left[res.payment_reference or ""] = have - res.amount
