"""An exchange's difference paid after the exchange ended, and the open payment link of one
that ended before it was paid: recorded on the ``exchanges`` row by guarded UPDATEs, each
change journalled (``ledger/exchanges.py`` moves the row through its states).

    fallen_back (sold out while awaiting payment, a session open): checkout_status
        expiring ──Stripe expired it──► expired
            │  ──the customer paid first──► paid (``paid_late``: refunded by its completion)
            └──out of tries──► failed (a person is told)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select, update

from refunds_plugin.ledger.exchanges import ExchangeRow, mode
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.tables import exchanges


def _paid_with(reference: str | None) -> dict[str, str]:
    return {"payment_reference": reference} if reference else {}


# an exchange that ended unpaid, or waits for a person, whose difference may still be paid
# (its session was open): the payment is recorded on it, never lost (``paid_late``)
ENDED_UNPAID = ("fallen_back", "failed")


def paid_late(conn: Connection, row: ExchangeRow, amount: int, currency: str, now: datetime,
              livemode: bool | None, payment_reference: str | None) -> bool:
    """The difference was paid after the exchange ended (fell back) or failed: recorded once
    (the one UPDATE that finds it unpaid), its status unchanged; an open link to expire is
    ``paid`` (nothing to expire any more)."""
    if amount != row.charge_amount or currency != row.currency:
        return False
    values: dict[str, Any] = {"paid_at": now, **mode(livemode), **_paid_with(payment_reference)}
    moved = conn.execute(
        update(exchanges).where(exchanges.c.decision_id == row.decision_id,
                                exchanges.c.status.in_(ENDED_UNPAID),
                                exchanges.c.paid_at.is_(None))
        .values(updated_at=now, checkout_status=case(
            (exchanges.c.checkout_status.is_(None), None), else_="paid"), **values)).rowcount
    if moved:
        body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
        append_entry(conn, "exchange_paid_late", row.decision_id,
                     {"amount": amount, "currency": currency, "status": row.status, **body},
                     now)
    return bool(moved)


def checkout_ended(conn: Connection, decision_id: str, status: str, now: datetime,
                   said: dict[str, Any]) -> bool:
    """An ended exchange's open link: ``expired`` at Stripe, found ``paid`` (its completion
    refunds it), or ``failed`` (a person is told); once, from ``expiring``."""
    moved = conn.execute(
        update(exchanges).where(exchanges.c.decision_id == decision_id,
                                exchanges.c.checkout_status == "expiring")
        .values(checkout_status=status, updated_at=now)).rowcount
    if moved:
        append_entry(conn, "exchange_checkout_expired", decision_id,
                     {**said, "checkout_status": status}, now)
    return bool(moved)


def expiring(conn: Connection, limit: int = 50) -> list[ExchangeRow]:
    """Ended exchanges whose open link the worker is to expire at Stripe, oldest first."""
    rows = conn.execute(select(exchanges).where(exchanges.c.checkout_status == "expiring")
                        .order_by(exchanges.c.updated_at).limit(limit)).all()
    return [ExchangeRow.from_row(r, read_progress=False) for r in rows]


def note_expiry_failure(conn: Connection, row: ExchangeRow, now: datetime) -> None:
    """A try at expiring an ended exchange's link failed: counted (its ``last_error`` keeps
    why the exchange ended)."""
    conn.execute(update(exchanges).where(exchanges.c.decision_id == row.decision_id)
                 .values(tries=row.tries + 1, updated_at=now))
