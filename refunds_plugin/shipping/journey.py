"""Who hears of the returned parcel's new carrier status, in the transaction that stores it
(``returns.mark_tracking``): the merchant's systems (``return.in_transit``,
``return.delivered``), a person (a ``parcel_problem`` follow-up when the carrier fails or sends
the parcel back) and the customer, by email (``notify/parcels``: what the status let go, and
what still waits for a later step). Each once per return and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.ledger.tables import exchanges, refund_attempts
from refunds_plugin.notify import parcels
from refunds_plugin.shipping.rows import ReturnRow
from refunds_plugin.trouble.follow_ups import note_return_trouble

PROBLEM = {
    "failure": "the carrier reports a failure delivering the parcel",
    "return_to_sender": "the carrier is sending the parcel back to the customer",
}


def noted(conn: Connection, ret: ReturnRow, status: str, now: datetime) -> parcels.Heard | None:
    """Before the status releases anything: the merchant's event, a person's follow-up; what
    the messages say, for ``told`` (None: nobody is told of this status)."""
    news = parcels.heard(conn, ret.decision_id, status)
    if news is not None:
        parcels.parcel_moved(conn, news, now)
    if status in PROBLEM:  # the page says our team is on it: a person is told
        note_return_trouble(
            conn,
            kind="parcel_problem",
            order_id=ret.order_id,
            decision_id=ret.decision_id,
            detail=(
                f"Return {ret.decision_id} of order {ret.order_id}: {PROBLEM[status]} "
                f"(tracking {ret.tracking_code}). The customer was told our team will "
                f"{'be in touch' if status == 'return_to_sender' else 'look into it'}; "
                "the money held for the parcel stays held until a person decides."
            ),
            now=now,
        )
    return news


def told(
    conn: Connection,
    ret: ReturnRow,
    news: parcels.Heard | None,
    released: tuple[str, ...],
    now: datetime,
) -> None:
    """After it released what waited for it: the customer's email, with that money and what
    is still held for a later step of the parcel."""
    if news is not None:
        money = {**parcels.released_money(conn, released), "waiting": waiting(conn, ret)}
        parcels.parcel_told(conn, news, now, money)


def waiting(conn: Connection, ret: ReturnRow) -> list[dict[str, Any]]:
    """The money still held for the parcel (its decision's, and an exchange's fallback's), by
    kind and the trigger it waits for: ``{"kind", "on", "amount"}`` (credit with its bonus)."""
    fallback = (
        select(exchanges.c.fallback_decision_id)
        .where(exchanges.c.decision_id == ret.decision_id)
        .scalar_subquery()
    )
    a = refund_attempts.c
    rows = conn.execute(
        select(a.kind, a.amount, a.bonus)
        .where(
            a.status == AttemptStatus.HELD,
            (a.decision_id == ret.decision_id) | (a.decision_id == fallback),
        )
        .order_by(a.decision_id, a.seq)
    ).all()
    found: dict[tuple[str, str], int] = {}
    for r in rows:
        on = ret.refund_on.get(r.kind)
        if on in ("first_scan", "delivered", "inspected"):  # held for the parcel
            key = (str(r.kind), str(on))
            found[key] = (
                found.get(key, 0) + int(r.amount) + (int(r.bonus or 0) if r.kind == "credit" else 0)
            )
    return [{"kind": k, "on": on, "amount": amount} for (k, on), amount in found.items()]
