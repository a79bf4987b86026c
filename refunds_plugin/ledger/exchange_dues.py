"""An instant exchange's original value, due from the customer when the original never came
back (``exchanges.shipping.return_expired``): one row per exchange, moved through its states by
guarded UPDATEs, each change journalled in the chain.

    charging ──session made──► open ──checkout.session.completed──► paid
        │                       │                                    │
        │   the original's first scan after all                     │
        └──► canceled ◄── expiring ◄┘ (Stripe expires the link)      └──► refunding ──► refunded
    owed (no card through us: the merchant's systems and a follow-up) ──first scan──► canceled
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, select, update

from refunds_plugin.ledger.journal import append_entry, insert_ignore
from refunds_plugin.ledger.label_fees import LABEL_FEE_SEQ
from refunds_plugin.ledger.tables import exchange_dues, payments, refund_attempts

STRIPE_DUE = "charging"
OWED = "owed"
# the refund attempt (of the exchange's decision) that gives a paid due back: a seq no
# decision's resolutions reach, so the attempt id is derived once per exchange
REFUND_SEQ = 900
# the refund attempt (of the exchange's decision) that gives back a dearer item's difference
# the customer paid for an exchange that will not go ahead (``exchanges/difference.py``); well
# past REFUND_SEQ, whose retries take the seqs after it (``attempts.retry_attempt``)
DIFFERENCE_SEQ = 950
# the journal entry of a paid difference a person refunded in Stripe (``exchanges.by_hand``)
DIFFERENCE_BY_HAND = "exchange_difference_by_hand"
# which money a refund attempt gives back, by its seq (``refund_of``): each kind keeps its
# retries in its own band of seqs (``retry_seq``), so the seq alone says it
SALE = "sale"  # the decision's own resolutions (and their retries): a refund of the sale
ORIGINAL_DUE = "original_due"  # a paid original due given back: REFUND_SEQ and its retries
DIFFERENCE = "difference"  # a paid dearer item's difference given back: DIFFERENCE_SEQ onwards
# a return label fee deducted for a label never bought, given back (``ledger/label_fees``):
# the sale's money the decision kept back, LABEL_FEE_SEQ onwards
LABEL_FEE = "label_fee"
_BANDS = ((SALE, 0, REFUND_SEQ), (ORIGINAL_DUE, REFUND_SEQ, DIFFERENCE_SEQ),
          (DIFFERENCE, DIFFERENCE_SEQ, LABEL_FEE_SEQ), (LABEL_FEE, LABEL_FEE_SEQ, 2**31 - 1))


def refund_of(seq: int) -> str:
    """What a refund attempt of ``seq`` gives back: ``SALE`` (the decision's resolutions, the
    only refunds of a sale), ``ORIGINAL_DUE`` or ``DIFFERENCE`` (a payment the customer made
    for the exchange, given back: no refund of the sale), retries included."""
    return next(kind for kind, low, high in _BANDS if low <= seq < high)


def seq_is(seq: ColumnElement[int], kind: str) -> ColumnElement[bool]:
    """``refund_of(seq) == kind`` in SQL."""
    low, high = next((lo, hi) for k, lo, hi in _BANDS if k == kind)
    return seq.between(low, high - 1)


def retry_seq(conn: Connection, decision_id: str, seq: int) -> int:
    """The seq of a retry of the decision's attempt ``seq``: the next free one in its own band,
    so the retry gives back the same money as the attempt it replaces (``refund_of``). A band
    with no seq left (dozens of refused tries) refuses another retry: a person pays by hand."""
    kind = refund_of(seq)
    top = conn.execute(select(func.max(refund_attempts.c.seq)).where(
        refund_attempts.c.decision_id == decision_id,
        seq_is(refund_attempts.c.seq, kind))).scalar()
    nxt = int(top if top is not None else seq) + 1
    if refund_of(nxt) != kind:
        raise ValueError(f"decision {decision_id}: no seq left to retry a {kind} refund")
    return nxt


@dataclass(frozen=True)
class DueRow:
    decision_id: str
    order_id: str
    currency: str
    amount: int
    status: str
    checkout_session_id: str | None
    checkout_url: str | None
    paid_amount: int | None
    payment_reference: str | None
    paid_at: datetime | None
    refund_attempt_id: str | None
    tries: int
    last_error: str | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> DueRow:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__})


def on_stripe(conn: Connection, order_id: str) -> bool:
    """Whether the order was paid through Stripe (we can take a card payment for it)."""
    return conn.execute(select(payments.c.reference).where(
        payments.c.order_id == order_id, payments.c.provider == "stripe").limit(1)).first() \
        is not None


def record(conn: Connection, decision_id: str, order_id: str, currency: str, amount: int,
           status: str, now: datetime) -> bool:
    """The original's value is due, recorded once per exchange."""
    made = insert_ignore(conn, exchange_dues, {
        "decision_id": decision_id, "order_id": order_id, "currency": currency,
        "amount": amount, "status": status, "tries": 0, "created_at": now, "updated_at": now})
    if made:
        append_entry(conn, "exchange_due", decision_id,
                     {"amount": amount, "currency": currency, "status": status}, now)
    return made


def get(conn: Connection, decision_id: str) -> DueRow | None:
    row = conn.execute(select(exchange_dues)
                       .where(exchange_dues.c.decision_id == decision_id)).first()
    return None if row is None else DueRow.from_row(row)


def by_session(conn: Connection, session_id: str) -> DueRow | None:
    row = conn.execute(select(exchange_dues)
                       .where(exchange_dues.c.checkout_session_id == session_id)).first()
    return None if row is None else DueRow.from_row(row)


def in_status(conn: Connection, status: str, limit: int = 50) -> list[DueRow]:
    rows = conn.execute(select(exchange_dues).where(exchange_dues.c.status == status)
                        .order_by(exchange_dues.c.created_at).limit(limit)).all()
    return [DueRow.from_row(r) for r in rows]


def move(conn: Connection, decision_id: str, was: tuple[str, ...], now: datetime, entry: str,
         said: dict[str, Any], **values: Any) -> bool:
    """One guarded transition, journalled: True for the one caller that made it."""
    moved = conn.execute(
        update(exchange_dues)
        .where(exchange_dues.c.decision_id == decision_id, exchange_dues.c.status.in_(was))
        .values(updated_at=now, **values)).rowcount
    if moved:
        body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()
                if k not in ("checkout_url", "tries", "last_error")}
        append_entry(conn, entry, decision_id, {**said, **body}, now)
    return bool(moved)


def note_failure(conn: Connection, decision_id: str, error: str, now: datetime) -> None:
    conn.execute(update(exchange_dues).where(exchange_dues.c.decision_id == decision_id)
                 .values(tries=exchange_dues.c.tries + 1, last_error=error[:2000],
                         updated_at=now))


def totals(conn: Connection, decision_ids: list[str]) -> dict[str, DueRow]:
    """The dues of these decisions (finance's pages)."""
    if not decision_ids:
        return {}
    rows = conn.execute(select(exchange_dues)
                        .where(exchange_dues.c.decision_id.in_(decision_ids))).all()
    return {r.decision_id: DueRow.from_row(r) for r in rows}
