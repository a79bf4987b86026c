"""Exchanges in the ledger: one row per decision that swaps lines, moved through its states by
guarded UPDATEs (a state is left once, however often and however concurrently an event says
so), each change journalled in the chain.

    awaiting_payment ──paid──► waiting ──ship_on reached──► ready ──replacement made──► shipped
           │                  (ready at once if ship_on was reached or is ``approval``)   │
           └──expired──► fallen_back (the refund or credit instead)      failed ◄──────────┘
                              ▲                               (out of tries: a person looks)
  awaiting_payment | waiting | ready | shipped by a storefront ──┘ out of stock before it
  shipped (``out_of_stock``; an unpaid one's open link is then expired: ``exchange_payments``)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, case, or_, select, update

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.ledger.journal import append_entry, insert_ignore, plain
from refunds_plugin.ledger.line_index import mark_decision
from refunds_plugin.ledger.tables import exchanges, return_shipments
from refunds_plugin.money import written

SHIP_ORDER = ("approval", "first_scan", "delivered", "inspected")
OPEN = ("awaiting_payment", "waiting", "ready")
OUT_OF_STOCK = "out_of_stock: "  # ``last_error`` of an exchange that fell back for stock
# how each status counts in the insights' "how the return ended" (``ledger/rollups.ending``)
ENDS = {"awaiting_payment": "pending", "failed": "pending", "waiting": "exchange",
        "ready": "exchange", "shipped": "exchange", "fallen_back": "fallen_back"}


def _mark_if_ended(conn: Connection, decision_id: str, was: tuple[str, ...], status: Any
                   ) -> None:
    """A move that changes how the return ended marks it for the insights' rollups, in the
    move's own transaction (as ``ledger/reviews.py`` does for a review decided)."""
    if status is not None and {ENDS[w] for w in was} != {ENDS[status]}:
        mark_decision(conn, decision_id)


@dataclass(frozen=True)
class ExchangeRow:
    decision_id: str
    order_id: str
    currency: str
    status: str
    ship_on: str
    reached: str | None
    difference: int
    charge_amount: int
    waived_amount: int
    back_amount: int
    checkout_session_id: str | None
    checkout_url: str | None
    replacement_id: str | None
    progress: dict[str, Any]
    tries: int
    last_error: str | None
    fallback_decision_id: str | None
    updated_at: datetime
    original_due: int | None = None
    paid_at: datetime | None = None
    payment_reference: str | None = None
    checkout_status: str | None = None

    @property
    def out_of_stock(self) -> bool:
        """It fell back because the new item went out of stock (not for an unpaid difference)."""
        return self.status == "fallen_back" and (self.last_error or "").startswith(OUT_OF_STOCK)

    @classmethod
    def from_row(cls, row: Row[Any], read_progress: bool = True) -> ExchangeRow:
        """``read_progress`` False: its progress left empty (it cannot be read)."""
        m = row._mapping
        return cls(**{k: m[k] for k in cls.__dataclass_fields__ if k != "progress"},
                   progress=json.loads(m["progress"] or "{}") if read_progress else {})


def mode(livemode: bool | None) -> dict[str, bool]:
    """A payment's ``livemode`` to write on its row and entry, only once known: an entry of a
    mode not said reads as it did before the column (revision 0030)."""
    return {} if livemode is None else {"livemode": bool(livemode)}


def reaches(trigger: str, ship_on: str) -> bool:
    """Whether ``trigger`` (a return's progress) is at or past ``ship_on``."""
    return SHIP_ORDER.index(trigger) >= SHIP_ORDER.index(ship_on)


def open_exchange(conn: Connection, decision_id: str, order_id: str, currency: str,
                  ex: Exchange, now: datetime) -> bool:
    """The exchange of an approved decision, stored once with its journal entry."""
    status = "awaiting_payment" if ex.charge else (
        "ready" if ex.ship_on == "approval" else "waiting")
    inserted = insert_ignore(conn, exchanges, {
        "decision_id": decision_id, "order_id": order_id, "currency": currency,
        "status": status, "ship_on": ex.ship_on,
        "reached": "approval" if ex.ship_on == "approval" else None,
        "difference": ex.difference, "charge_amount": ex.charge, "waived_amount": ex.waived,
        "back_amount": ex.back, "progress": "{}", "tries": 0, "created_at": now,
        "updated_at": now,
    })
    if inserted:
        append_entry(conn, "exchange", decision_id,
                     {"status": status, "order_id": order_id, "currency": currency,
                      "settled_as": ex.settled_as, **plain(ex)}, now)
    return inserted


def get_exchange(conn: Connection, decision_id: str) -> ExchangeRow | None:
    row = conn.execute(select(exchanges).where(exchanges.c.decision_id == decision_id)).first()
    return None if row is None else ExchangeRow.from_row(row)


def by_checkout_session(conn: Connection, session_id: str) -> ExchangeRow | None:
    row = conn.execute(
        select(exchanges).where(exchanges.c.checkout_session_id == session_id)).first()
    return None if row is None else ExchangeRow.from_row(row)


def due(conn: Connection, status: str, limit: int = 50,
        unreadable: dict[str, str] | None = None) -> list[ExchangeRow]:
    """Exchanges in ``status``, oldest first (the worker's queue). ``unreadable``: one whose
    stored progress is not a JSON object is returned with none and named here with how, so
    the caller hands it to a person alone (without it, the whole read raises)."""
    rows = conn.execute(select(exchanges).where(exchanges.c.status == status)
                        .order_by(exchanges.c.created_at).limit(limit)).all()
    found = []
    for r in rows:
        try:
            row = ExchangeRow.from_row(r)
            if not isinstance(row.progress, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError) as exc:
            if unreadable is None:
                raise
            kind = ("not valid JSON" if isinstance(exc, ValueError)
                    else "JSON of the wrong shape")
            unreadable[r.decision_id] = kind
            row = ExchangeRow.from_row(r, read_progress=False)
        found.append(row)
    return found


def _move(conn: Connection, decision_id: str, was: tuple[str, ...], now: datetime,
          entry: str, said: dict[str, Any], **values: Any) -> bool:
    """One guarded transition: True for the one caller whose UPDATE found the row in ``was``."""
    moved = conn.execute(
        update(exchanges)
        .where(exchanges.c.decision_id == decision_id, exchanges.c.status.in_(was))
        .values(updated_at=now, **values)
    ).rowcount
    if moved:
        _mark_if_ended(conn, decision_id, was, values.get("status"))
        body = {k: v.isoformat() if isinstance(v, datetime) else v
                for k, v in values.items() if k != "progress"}
        append_entry(conn, entry, decision_id, {**said, **body}, now)
    return bool(moved)


def set_checkout(conn: Connection, decision_id: str, session_id: str, url: str,
                 now: datetime) -> bool:
    """The Checkout Session that takes the difference, recorded once (the first one wins; the
    idempotency key made any second call return the same session anyway)."""
    moved = conn.execute(
        update(exchanges)
        .where(exchanges.c.decision_id == decision_id,
               exchanges.c.status == "awaiting_payment",
               exchanges.c.checkout_session_id.is_(None))
        .values(checkout_session_id=session_id, checkout_url=url, updated_at=now,
                last_error=None)
    ).rowcount
    if moved:
        append_entry(conn, "exchange_checkout", decision_id,
                     {"checkout_session_id": session_id}, now)
    return bool(moved)


def settle_payment(conn: Connection, row: ExchangeRow, amount: int, currency: str,
                   now: datetime, livemode: bool | None = None,
                   payment_reference: str | None = None) -> str:
    """The difference was paid: on to waiting, or ready if ship_on was already reached. Paid
    twice (a replayed or a second completion) settles once; the note says which. ``livemode``:
    the mode Stripe took it in, when it said (False: its test mode, no real money taken);
    ``payment_reference``: the PaymentIntent that paid it (what a refund of it names)."""
    if amount != row.charge_amount or currency != row.currency:
        return (f"exchange {row.decision_id}: paid {written(amount, currency)}, expected "
                f"{written(row.charge_amount, row.currency)}: not settled, a person must look")
    status = "ready" if row.reached is not None else "waiting"
    if _move(conn, row.decision_id, ("awaiting_payment",), now, "exchange_paid",
             {"amount": amount, "currency": currency}, status=status, paid_at=now,
             **mode(livemode),
             **({"payment_reference": payment_reference} if payment_reference else {})):
        return f"exchange {row.decision_id} paid: {status}"
    return f"exchange {row.decision_id}: payment already settled"


def fall_back(conn: Connection, row: ExchangeRow, fallback_decision_id: str | None,
              now: datetime) -> bool:
    """The difference was never paid: the exchange ends, the refund or credit takes its place."""
    return _move(conn, row.decision_id, ("awaiting_payment",), now, "exchange_fallen_back", {},
                 status="fallen_back", fallback_decision_id=fallback_decision_id)


def out_of_stock(conn: Connection, row: ExchangeRow, fallback_decision_id: str, why: str,
                 now: datetime) -> bool:
    """The new item went out of stock before it shipped: the exchange ends, never shipped,
    and the refund or credit takes its place; once. A storefront's exchange handed over to
    ship (``shipped`` with no replacement order of ours) may still fall back: the storefront
    found it could not send it; a Saleor replacement completed may not."""
    error = f"{OUT_OF_STOCK}{why}"[:2000]
    # still awaiting payment with a session open: that link is to be expired at Stripe (by
    # the worker: ``exchanges/difference.py``), so nobody pays for what will not come
    unpaid_link = and_(exchanges.c.status == "awaiting_payment",
                       exchanges.c.checkout_session_id.is_not(None))
    moved = conn.execute(
        update(exchanges).where(exchanges.c.decision_id == row.decision_id, can_fall_back())
        .values(status="fallen_back", fallback_decision_id=fallback_decision_id,
                last_error=error, updated_at=now, tries=0,
                checkout_status=case((unpaid_link, "expiring"),
                                     else_=exchanges.c.checkout_status))).rowcount
    if moved:
        mark_decision(conn, row.decision_id)
        expire = ({"checkout_status": "expiring"} if row.status == "awaiting_payment"
                  and row.checkout_session_id else {})
        append_entry(conn, "exchange_out_of_stock", row.decision_id,
                     {"why": why, "status": "fallen_back",
                      "fallback_decision_id": fallback_decision_id, "was": row.status,
                      **expire}, now)
    return bool(moved)


def can_fall_back() -> ColumnElement[bool]:
    """Not shipped yet (awaiting its difference included), or handed to a storefront that has
    not shipped it."""
    return or_(exchanges.c.status.in_(("awaiting_payment", "waiting", "ready")),
               and_(exchanges.c.status == "shipped", exchanges.c.replacement_id.is_(None)))


def stock_may_fall_back(row: ExchangeRow) -> bool:
    """``can_fall_back`` for a row in hand."""
    return row.status in ("awaiting_payment", "waiting", "ready") or (
        row.status == "shipped" and row.replacement_id is None)


def reach(conn: Connection, row: ExchangeRow, trigger: str, now: datetime) -> bool:
    """The return got as far as ``trigger``: a waiting exchange whose ship_on it reaches becomes
    ready; one still awaiting payment remembers it (ready once paid)."""
    if not reaches(trigger, row.ship_on):
        return False
    if row.status == "awaiting_payment":
        return bool(conn.execute(
            update(exchanges)
            .where(exchanges.c.decision_id == row.decision_id,
                   exchanges.c.status == "awaiting_payment", exchanges.c.reached.is_(None))
            .values(reached=trigger, updated_at=now)).rowcount)
    return _move(conn, row.decision_id, ("waiting",), now, "exchange_ready",
                 {"trigger": trigger}, status="ready", reached=trigger)


# why an exchange is ready at approval although its policy waits for the parcel: no return
# was opened for it (no return address configured), so no parcel can ever be recorded
NO_RETURN = "exchange_ships_approval_no_return_address"


def waiting_without_return(conn: Connection, limit: int = 50) -> list[ExchangeRow]:
    """Waiting exchanges whose decision opened no return: decided before the exchange's
    ``ship_on`` knew there was no return address, they would wait for ever."""
    opened = select(return_shipments.c.decision_id).where(
        return_shipments.c.decision_id == exchanges.c.decision_id).exists()
    rows = conn.execute(select(exchanges).where(exchanges.c.status == "waiting", ~opened)
                        .order_by(exchanges.c.created_at).limit(limit)).all()
    return [ExchangeRow.from_row(r, read_progress=False) for r in rows]


def ready_without_return(conn: Connection, row: ExchangeRow, now: datetime) -> bool:
    """A waiting exchange with no return to wait for is ready, as at approval, once."""
    return _move(conn, row.decision_id, ("waiting",), now, "exchange_ready",
                 {"trigger": "approval", "why": NO_RETURN}, status="ready", reached="approval")


def claim(conn: Connection, decision_id: str, now: datetime, lease_s: int) -> bool:
    """A worker's lease on an exchange's outbound steps: one worker at a time, a dead worker's
    lease expires."""
    return bool(conn.execute(
        update(exchanges)
        .where(exchanges.c.decision_id == decision_id,
               or_(exchanges.c.claim_until.is_(None), exchanges.c.claim_until < now))
        .values(claim_until=now + timedelta(seconds=lease_s))).rowcount)


def release(conn: Connection, decision_id: str) -> None:
    conn.execute(update(exchanges).where(exchanges.c.decision_id == decision_id)
                 .values(claim_until=None))


def save_progress(conn: Connection, decision_id: str, progress: dict[str, Any],
                  now: datetime, replacement_id: str | None = None) -> None:
    """What the replacement's steps have done so far, so a retry goes on from there."""
    values: dict[str, Any] = {"progress": json.dumps(progress, sort_keys=True),
                              "updated_at": now}
    if replacement_id is not None:
        values["replacement_id"] = replacement_id
    conn.execute(update(exchanges).where(exchanges.c.decision_id == decision_id).values(**values))


def shipped(conn: Connection, decision_id: str, replacement_id: str | None,
            now: datetime, said: dict[str, Any] | None = None) -> bool:
    """Ready → shipped, once. ``said`` adds to the journal entry (a person's name, carrier and
    tracking number: ``exchanges.by_hand``); the worker's entry stays as it always was."""
    return _move(conn, decision_id, ("ready",), now, "exchange_shipped", said or {},
                 status="shipped", replacement_id=replacement_id)


def note_failure(conn: Connection, row: ExchangeRow, error: str, now: datetime,
                 *, give_up: bool) -> bool:
    """A try failed: counted; out of tries, the exchange is ``failed`` for a person."""
    if give_up:
        return _move(conn, row.decision_id, (row.status,), now, "exchange_failed",
                     {"error": error}, status="failed", tries=row.tries + 1, last_error=error)
    conn.execute(update(exchanges).where(exchanges.c.decision_id == row.decision_id)
                 .values(tries=row.tries + 1, last_error=error, updated_at=now))
    return False


def original_due(conn: Connection, row: ExchangeRow, amount: int, now: datetime) -> bool:
    """An instant exchange's original never came back: its value is owed, recorded once (by
    the one UPDATE that finds it unset)."""
    moved = conn.execute(
        update(exchanges)
        .where(exchanges.c.decision_id == row.decision_id, exchanges.c.original_due.is_(None))
        .values(original_due=amount, updated_at=now)).rowcount
    if moved:
        append_entry(conn, "exchange_original_due", row.decision_id,
                     {"amount": amount, "currency": row.currency, "status": row.status}, now)
    return bool(moved)


def restart(conn: Connection, row: ExchangeRow, now: datetime) -> bool:
    """A person approved the review a failed exchange opened: it takes up where it stopped
    (the Checkout Session still to make, or the replacement), with its tries counted afresh."""
    if row.status != "failed":
        return False
    if row.charge_amount and row.paid_at is None:
        status = "awaiting_payment"
    else:
        status = "ready" if row.reached is not None else "waiting"
    return _move(conn, row.decision_id, ("failed",), now, "exchange_restarted",
                 {"after": row.last_error}, status=status, tries=0)
