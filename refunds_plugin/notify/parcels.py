"""The returned parcel's journey, told: the customer's emails as the carrier moves it and the
merchant's events, each once per return and status, recorded in the transaction that stores
the carrier's status (``shipping.returns.mark_tracking``, through ``shipping.journey``):

- the first scan (``in_transit``, ``out_for_delivery`` or ``available_for_pickup``, whichever
  comes first): ``parcel_in_transit`` and ``return.in_transit`` (cause
  ``return:<decision id>:in_transit``)
- delivered to the shop: ``parcel_delivered`` and ``return.delivered``
  (``return:<decision id>:delivered``). An ``parcel_in_transit`` mail still queued is withdrawn
  (``outbox.withdraw``): "on its way to us" never follows "we have your parcel"; and the
  warehouse's receipt withdraws both while queued (``causes.return_received``)
- the carrier failed, or sends the parcel back to the customer: ``parcel_problem``, saying
  what to do (``return:<decision id>:failure`` / ``:return_to_sender``)

A status the carrier says again, or an older one arriving late, adds nothing: the outbox row is
unique per cause, kind and recipient, and ``mark_tracking`` keeps no status older than the one
stored. The mails say what the status did to the money, as ``item_received`` does: what it let
go (``released_refund``, ``released_credit``, ``released_money``) and what still waits for a
later step of the parcel (``waiting``: kind, trigger and amount, ``shipping.journey``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.ledger.tables import refund_attempts
from refunds_plugin.notify.causes import _event, _recorded
from refunds_plugin.notify.kinds import MERCHANT
from refunds_plugin.notify.outbox import enqueue, withdraw

IN_TRANSIT = ("in_transit", "out_for_delivery", "available_for_pickup")  # a first scan
PROBLEMS = ("failure", "return_to_sender")
OVERTAKEN = "not sent: the parcel was delivered before this email went"


def stage(status: str) -> str | None:
    """The step of the journey a carrier status tells the customer of (None: none)."""
    if status in IN_TRANSIT:
        return "in_transit"
    return status if status == "delivered" or status in PROBLEMS else None


@dataclass(frozen=True)
class Heard:
    """A carrier status the customer hears of, with what its messages say (the decision's
    context, read once for the event and the mail: ``causes._recorded``) and their address."""

    decision_id: str
    status: str
    step: str
    context: dict[str, Any]
    email: str | None


def heard(conn: Connection, decision_id: str, status: str) -> Heard | None:
    """What a status's messages say (None: a status nobody is told of, such as ``cancelled``)."""
    step = stage(status)
    if step is None:
        return None
    recorded, _, email = _recorded(conn, decision_id)
    return Heard(decision_id, status, step, {**recorded, "status": status}, email)


def parcel_moved(conn: Connection, news: Heard, now: datetime) -> None:
    """The carrier's first scan (``return.in_transit``) or its delivery (``return.delivered``)
    of the returned parcel, for the merchant's systems; once each."""
    if news.step in ("in_transit", "delivered"):
        enqueue(
            conn,
            cause=f"return:{news.decision_id}:{news.step}",
            kind=f"return.{news.step}",
            recipient=MERCHANT,
            now=now,
            context=_event(news.context, news.email),
        )


def parcel_told(conn: Connection, news: Heard, now: datetime, money: dict[str, Any]) -> bool:
    """The customer hears of the parcel's new step, once per return and step (``money``: what
    it let go and what still waits, see above). True: the mail is new."""
    kind = "parcel_problem" if news.step in PROBLEMS else f"parcel_{news.step}"
    if news.step == "delivered":
        withdraw(
            conn,
            cause=f"return:{news.decision_id}:in_transit",
            kind="parcel_in_transit",
            recipient=news.email,
            now=now,
            note=OVERTAKEN,
        )
    return enqueue(
        conn,
        cause=f"return:{news.decision_id}:{news.step}",
        kind=kind,
        recipient=news.email,
        now=now,
        context={**news.context, **money},
    )


def released_money(conn: Connection, released: tuple[str, ...]) -> dict[str, int]:
    """What the ``released`` attempts let go, by kind: a mail names that, not the whole
    decision (part of it may have gone at approval). Store credit with its bonus, as its own
    mail says it."""
    rows = (
        conn.execute(
            select(refund_attempts.c.kind, refund_attempts.c.amount, refund_attempts.c.bonus).where(
                refund_attempts.c.id.in_(released)
            )
        ).all()
        if released
        else []
    )
    return {
        "released_refund": sum(int(r.amount) for r in rows if r.kind == "refund"),
        "released_credit": sum(
            int(r.amount) + int(r.bonus or 0) for r in rows if r.kind == "credit"
        ),
    }
