"""A return label fee given back: the policy made the customer pay for the prepaid label
(``return_shipping.paid_by: customer``, its ``fee`` deducted from their refund at decision
time) and the shipping desk gave up on it (out of tries, no rate, too dear, no customer address,
an address the carrier refused), so the label is never bought and the fee is not the shop's.

It goes back once, by the executor's recorded, retried, idempotent path: a refund attempt of the
decision at ``LABEL_FEE_SEQ``, so its id (and the provider's idempotency key) is the same
however often, and by whichever worker, the give-up is handled. It goes the way the decision's
money went: the same provider and payment as its refund (or, a decision paid only as store
credit, as store credit; the dry run's, as a dry run), and held with it when that money waits
for the parcel (``refund_on``): released together, canceled together if the return expires (a
refund never paid had nothing deducted from it). Never more than the fee the decision deducted.

The attempt's seq is ``ledger/label_fees.LABEL_FEE_SEQ`` (why that one: there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from refunds_plugin.domain.kinds import AttemptStatus, ResolutionKind
from refunds_plugin.ledger.attempts import (
    AttemptRow,
    attempt_id_for,
    get_attempt,
    write_extra_attempt,
)
from refunds_plugin.ledger.exchange_dues import SALE, seq_is
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.label_fees import LABEL_FEE_SEQ
from refunds_plugin.ledger.tables import decisions, refund_attempts
from refunds_plugin.notify import stored

FEE_CODE = "return_shipping"  # the decision's fee for the return label


@dataclass(frozen=True)
class FeeBack:
    attempt_id: str
    amount: int
    currency: str
    kind: str  # refund (to the payment the refund went to) | credit (store credit)
    held: bool  # waits for the parcel with the decision's money


def _followed(conn: Connection, decision_id: str) -> AttemptRow | None:
    """The decision's own attempt the fee goes back like: its first refund, else its first
    store credit; never one canceled (money that will never be paid)."""
    ra = refund_attempts.c
    rows = conn.execute(
        select(refund_attempts)
        .where(
            ra.decision_id == decision_id,
            seq_is(ra.seq, SALE),  # the decision's own attempts, retries included
            ra.status != AttemptStatus.CANCELED,
            ra.amount > 0,
        )
        .order_by(ra.seq)
    ).all()
    own = [AttemptRow.from_row(r) for r in rows]
    refunds = [a for a in own if a.kind == ResolutionKind.REFUND.value]
    picked = refunds or own
    return picked[0] if picked else None


def _deducted(conn: Connection, decision_id: str) -> int:
    """The label fee the decision deducted (0 when its body cannot be read: a person sees it)."""
    body = conn.execute(select(decisions.c.body).where(decisions.c.id == decision_id)).scalar()
    try:
        decision = stored.decision(body or "")
    except stored.UNREADABLE:
        return 0
    return sum(f.amount for f in decision.fees if f.code == FEE_CODE)


def give_back(conn: Connection, decision_id: str, fee: int, now: datetime) -> FeeBack | None:
    """The label fee (``fee``: the return's ``label_fee``) given back, once: the attempt that
    does it (written now, or found), or None (no fee was deducted, or none of the decision's
    money goes to the customer). Called inside the transaction that records the give-up."""
    found = get_attempt(conn, attempt_id_for(decision_id, LABEL_FEE_SEQ))
    if found is not None:
        return FeeBack(
            found.id, found.amount, found.currency, found.kind, found.status == AttemptStatus.HELD
        )
    amount = min(fee, _deducted(conn, decision_id))
    like = _followed(conn, decision_id) if amount > 0 else None
    if like is None:
        return None
    held = like.status == AttemptStatus.HELD
    attempt_id = write_extra_attempt(
        conn,
        decision_id=decision_id,
        order_id=like.order_id,
        seq=LABEL_FEE_SEQ,
        provider=like.provider,
        currency=like.currency,
        amount=amount,
        payment_reference=like.payment_reference,
        now=now,
        like=like,
        journal={"why": "label_fee_given_back"},
    )
    append_entry(
        conn,
        "label_fee_given_back",
        decision_id,
        {
            "amount": amount,
            "currency": like.currency,
            "kind": like.kind,
            "provider": like.provider,
            "held": held,
            "refund_attempt_id": attempt_id,
        },
        now,
    )
    return FeeBack(attempt_id, amount, like.currency, like.kind, held)
