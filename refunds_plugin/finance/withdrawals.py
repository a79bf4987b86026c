"""EU withdrawals as finance reads them: each statement with its legal deadline (received + 14
days, Article 13) and where its money stands, for promise keeping and ``/api/withdrawals``.

``status``: ``refunded`` (every refund of its return succeeded; ``refunded_at`` is the last),
``dry_run`` (the dry-run provider "paid" it: no money moved, so nothing is refunded or met),
``test_mode`` (Stripe refunded it in its test mode: no real money moved, likewise),
``waiting`` (held for the parcel: the law lets the shop wait for the goods or proof of
sending, so it is not overdue until the carrier has scanned the parcel), ``in_progress``
(asked of the provider), ``review`` (a person decides: a
late statement, a final-sale line, an amount above the automatic limits), ``declined``,
``failed`` (a refund failed; a person must act), ``expired`` (its return expired: the goods
were not sent back in time and the held refund was canceled; nothing is owed before the goods
or proof of sending arrive, so it is not overdue), ``not_decided`` (the return could not be
decided yet). ``met``: refunded by the deadline (None while not refunded); ``overdue``: not
refunded and the deadline has passed. A refused attempt that a review's approval replaced
(journal ``retry_of``) is left out, as in the decisions' money status: its replacement says
whether the money went back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from refunds_plugin.domain.kinds import AttemptStatus, paid_out
from refunds_plugin.finance.rows import DRY_RUN, TEST_MODE, shown_status
from refunds_plugin.ledger.attempt_reads import silent_attempts
from refunds_plugin.ledger.db import aware, iso_time, read_tx
from refunds_plugin.ledger.tables import (
    decisions,
    refund_attempts,
    return_shipments,
    reviews,
    withdrawals,
)
from refunds_plugin.shipping.returns import WAITING

COLUMNS = ["withdrawal_id", "order_id", "name", "email", "lines", "received_at",
           "legal_deadline", "in_period", "decision_id", "status", "currency", "amount",
           "refunded", "refunded_at", "met", "overdue"]
MONEY = ("amount", "refunded")  # the CSV adds each in major units (``amount_decimal``)
STATUSES = ("refunded", "dry_run", "waiting", "in_progress", "review", "declined", "failed",
            "not_decided", "test_mode", "expired")
# a parcel not sent yet (no carrier scan): the law lets the shop withhold the money until the
# goods or proof of sending arrive, so a refund held for it is not overdue; once scanned, it is
NOT_SENT = WAITING
UNREAL = (DRY_RUN, TEST_MODE)  # "paid" where no real money moved: never refunded, nor overdue


@dataclass(frozen=True)
class WithdrawalRow:
    withdrawal_id: str
    order_id: str
    name: str
    email: str
    lines: list[dict[str, Any]]
    received_at: datetime
    legal_deadline: datetime
    in_period: bool
    decision_id: str | None
    status: str
    currency: str | None
    amount: int  # what its return pays back, minor units (0 before it is decided)
    refunded: int  # of which succeeded
    refunded_at: datetime | None
    met: bool | None
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "withdrawal_id": self.withdrawal_id, "order_id": self.order_id, "name": self.name,
            "email": self.email, "lines": self.lines,
            "received_at": iso_time(self.received_at),
            "legal_deadline": iso_time(self.legal_deadline), "in_period": self.in_period,
            "decision_id": self.decision_id, "status": self.status, "currency": self.currency,
            "amount": self.amount, "refunded": self.refunded,
            "refunded_at": iso_time(self.refunded_at) if self.refunded_at else None,
            "met": self.met, "overdue": self.overdue,
        }


def _status(outcome: str | None, review: str | None, states: list[str],
            shipment: str | None = None) -> str:
    if outcome is None:
        return "not_decided"
    if review == "declined" or outcome == "decline":
        return "declined"
    for unreal in UNREAL:  # the dry run first, as before
        if unreal in states and all(s in (AttemptStatus.SUCCEEDED, *UNREAL) for s in states):
            return unreal
    if states and all(s == AttemptStatus.SUCCEEDED for s in states):
        return "refunded"
    if any(s == AttemptStatus.FAILED for s in states):
        return "failed"
    if any(s == AttemptStatus.HELD for s in states):
        return "waiting"
    if shipment == "expired" and all(s == AttemptStatus.CANCELED for s in states):
        return "expired"  # the goods never came back: its held refund was canceled
    if states:
        return "in_progress"
    return "review"


def find_withdrawals(engine: Engine, since: datetime | None, until: datetime | None,
                     now: datetime) -> list[WithdrawalRow]:
    """Withdrawals received in ``[since, until)``, the nearest deadline first."""
    w = withdrawals.c
    query = (select(withdrawals, decisions.c.outcome, decisions.c.currency, decisions.c.body,
                    reviews.c.status.label("review"), return_shipments.c.status.label("ship"))
             .select_from(withdrawals
                          .outerjoin(decisions, decisions.c.id == w.decision_id)
                          .outerjoin(reviews, reviews.c.decision_id == w.decision_id)
                          .outerjoin(return_shipments,
                                     return_shipments.c.decision_id == w.decision_id))
             .order_by(w.legal_deadline, w.id))
    if since is not None:
        query = query.where(w.received_at >= since)
    if until is not None:
        query = query.where(w.received_at < until)
    out: list[WithdrawalRow] = []
    with read_tx(engine) as conn:
        rows = conn.execute(query).all()
        ids = [r.decision_id for r in rows if r.decision_id]
        attempts: dict[str, list[Any]] = {}
        if ids:
            found = conn.execute(select(refund_attempts.c.id, refund_attempts.c.decision_id,
                                        refund_attempts.c.status, refund_attempts.c.provider,
                                        refund_attempts.c.kind,
                                        refund_attempts.c.amount,
                                        refund_attempts.c.sent_amount,
                                        refund_attempts.c.completed_at,
                                        refund_attempts.c.livemode)
                                 .where(refund_attempts.c.decision_id.in_(ids))
                                 .order_by(refund_attempts.c.seq)).all()
            # a refused attempt an approval replaced no longer speaks for the withdrawal
            gone = silent_attempts(conn, found)
            for a in found:
                if a.id not in gone:
                    attempts.setdefault(a.decision_id, []).append(a)
    for r in rows:
        mine = attempts.get(r.decision_id or "", [])
        states = [shown_status(a.status, a.provider, a.livemode) for a in mine]
        status = _status(r.outcome, r.review, states, r.ship)
        paid = [a for a, s in zip(mine, states, strict=True) if s == AttemptStatus.SUCCEEDED]
        done = [aware(a.completed_at) for a in paid if a.completed_at is not None]
        refunded_at = max(d for d in done if d is not None) if status == "refunded" and done \
            else None
        deadline = aware(r.legal_deadline)
        received = aware(r.received_at)
        assert deadline is not None and received is not None
        amount = int(json.loads(r.body).get("amount", 0)) if r.body else 0
        out.append(WithdrawalRow(
            r.id, r.order_id, r.name, r.email, json.loads(r.lines), received, deadline,
            bool(r.in_period), r.decision_id, status, r.currency, amount,
            sum(paid_out(a.kind, a.amount, a.sent_amount) for a in paid),
            refunded_at, None if refunded_at is None else refunded_at <= deadline,
            status not in ("refunded", "declined", "expired", *UNREAL) and now > deadline
            and not (status == "waiting" and r.ship in NOT_SENT)))
    return out
