"""Receiving at the packing table: each returned line marked with its condition and whether it
goes back on the shelf (``mark_received``, one function in the caller's transaction).

A receipt that matches the claim releases the money waiting for ``inspected`` (and for any
earlier trigger). A mismatch — a line missing, the wrong item, fewer units, or damage on an item
whose claim was the customer's own reason — goes to a person with the evidence; it is never
refused automatically. Receiving again with the same lines is answered with what was recorded;
more units than the decision took back are refused, naming the line. The first receipt tells
the customer (``item_received``) and the merchant's systems (``return.received``, with the
lines, their conditions and what to restock) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from refunds_plugin.domain.decision import Decision, LineDecision
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.errors import Conflict, InputError
from refunds_plugin.ledger.db import aware, lock_order
from refunds_plugin.ledger.journal import append_entry, insert_ignore
from refunds_plugin.ledger.reviews import open_review
from refunds_plugin.ledger.tables import return_receipts, return_shipments
from refunds_plugin.notify import causes
from refunds_plugin.notify.parcels import released_money
from refunds_plugin.shipping.restock import Planned
from refunds_plugin.shipping.returns import (
    ReturnRow,
    lock_return,
    reached,
    release_received,
    set_received,
)
from refunds_plugin.trouble.follow_ups import clear_label_refused, note_return_trouble

CONDITIONS = ("as_new", "opened", "damaged", "wrong_item", "missing")
rr = return_receipts.c


@dataclass(frozen=True)
class Received:
    line_id: str
    quantity: int
    condition: str
    restock: bool


@dataclass(frozen=True)
class Receipt:
    """What receiving recorded, as the API answers it."""

    decision_id: str
    order_id: str
    lines: tuple[Received, ...]
    matched: bool
    mismatches: tuple[str, ...]
    released: tuple[str, ...] = ()
    duplicate: bool = False
    restock: tuple[dict[str, Any], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id, "order_id": self.order_id,
            "duplicate": self.duplicate, "matched": self.matched,
            "mismatches": list(self.mismatches), "released_attempts": list(self.released),
            "lines": [{"line_id": ln.line_id, "quantity": ln.quantity,
                       "condition": ln.condition, "restock": ln.restock} for ln in self.lines],
            "restock": list(self.restock),
        }


def mismatch(line: LineDecision, got: Received) -> str | None:
    """Why a received line does not match what the customer claimed (None: it matches)."""
    if got.condition == "missing":
        return f"{line.line_id}: missing from the parcel"
    if got.condition == "wrong_item":
        return f"{line.line_id}: a different item came back"
    if got.quantity < line.quantity:
        return f"{line.line_id}: {got.quantity} of {line.quantity} units came back"
    customer_reason = not Reason(line.reason).merchant_fault
    if got.condition == "damaged" and customer_reason:
        return f"{line.line_id}: damaged, but the claim was {line.reason.replace('_', ' ')}"
    return None


def check(decision: Decision, lines: list[Received]) -> None:
    """Refuse what cannot be a receipt of this return, naming the line."""
    wanted = {ln.line_id: ln for ln in decision.lines if ln.return_required}
    seen: set[str] = set()
    for got in lines:
        if got.condition not in CONDITIONS:
            raise InputError(f"line {got.line_id}: condition must be one of "
                             f"{', '.join(CONDITIONS)}, not {got.condition!r}",
                             code="invalid_condition")
        if got.line_id not in wanted:
            raise InputError(f"line {got.line_id} is not part of this return (it takes back "
                             f"{', '.join(sorted(wanted)) or 'nothing'})", code="invalid_line")
        if got.line_id in seen:
            raise InputError(f"line {got.line_id} is named twice", code="invalid_line")
        seen.add(got.line_id)
        if got.quantity < 0 or got.quantity > wanted[got.line_id].quantity:
            raise InputError(f"line {got.line_id}: {got.quantity} units received, but the "
                             f"return takes back {wanted[got.line_id].quantity}",
                             code="too_many_units")


def _stored(conn: Connection, decision_id: str) -> dict[str, Received]:
    rows = conn.execute(select(return_receipts).where(rr.decision_id == decision_id))
    return {r.line_id: Received(r.line_id, int(r.quantity), r.condition, bool(r.restock))
            for r in rows}


def stored_json(conn: Connection, decision_id: str) -> list[dict[str, Any]]:
    """What was received, line by line (empty: nothing yet)."""
    return [{"line_id": r.line_id, "quantity": r.quantity, "condition": r.condition,
             "restock": r.restock} for r in sorted(_stored(conn, decision_id).values(),
                                                   key=lambda r: r.line_id)]


def restock_lines(conn: Connection, decision_id: str) -> list[dict[str, Any]]:
    """The lines to put back on the shelf, with their restock status."""
    rows = conn.execute(select(return_receipts).where(
        rr.decision_id == decision_id, rr.restock == 1).order_by(rr.line_id))
    return [{"line_id": r.line_id, "quantity": int(r.quantity), "status": r.restock_status,
             "received_at": (aware(r.received_at) or r.received_at).isoformat()} for r in rows]


def mark_received(conn: Connection, ret: ReturnRow, decision: Decision, lines: list[Received],
                  by: str, now: datetime, restock_to_saleor: bool) -> Receipt:
    """Record the warehouse's receipt of ``ret``'s lines, once: a match releases the held
    money, a mismatch opens a review with the evidence. Lines the return takes back but the
    receipt leaves out count as missing."""
    check(decision, lines)
    lock_order(conn, ret.order_id)
    named = {got.line_id for got in lines}
    lines = [*lines, *(Received(ln.line_id, 0, "missing", False) for ln in decision.lines
                       if ln.return_required and ln.line_id not in named)]
    before = _stored(conn, ret.decision_id)
    if before:
        if {ln.line_id: ln for ln in lines} != before:
            raise Conflict(f"this return was received before as {_said(before.values())}; "
                           "a person can change it from the review", code="already_received")
        return _answer(conn, ret, decision, list(before.values()), (), duplicate=True)
    for got in lines:
        pending = "pending" if got.restock and got.quantity and restock_to_saleor else \
            ("listed" if got.restock and got.quantity else "none")
        insert_ignore(conn, return_receipts, {
            "decision_id": ret.decision_id, "line_id": got.line_id, "quantity": got.quantity,
            "condition": got.condition, "restock": int(got.restock and got.quantity > 0),
            "restock_status": pending, "received_by": by, "received_at": now})
    wanted = {ln.line_id: ln for ln in decision.lines}
    problems = tuple(p for got in lines if (p := mismatch(wanted[got.line_id], got)))
    set_received(conn, ret, now)
    clear_label_refused(conn, ret.decision_id, now)  # it came back without our label
    append_entry(conn, "return_received", ret.decision_id, {
        "status": "received", "by": by, "matched": not problems, "mismatches": list(problems),
        "lines": [got.__dict__ for got in lines]}, now)
    released: tuple[str, ...] = ()
    if problems:  # it arrived, but did not pass inspection: an exchange waits for a person
        open_review(conn, ret.decision_id, "received_mismatch: " + "; ".join(problems), now)
        reached(conn, ret, ("first_scan", "delivered"), now)
    else:
        reached(conn, ret, ("first_scan", "delivered", "inspected"), now)
        released = release_received(conn, ret, now)
    answer = _answer(conn, ret, decision, lines, released, duplicate=False)
    causes.return_received(conn, decision_id=ret.decision_id, received_at=now, now=now, extra={
        "received": [{"line_id": g.line_id, "quantity": g.quantity, "condition": g.condition,
                      "restock": g.restock} for g in answer.lines],
        "matched": answer.matched, "mismatches": list(answer.mismatches),
        "released_attempts": list(released), "restock": list(answer.restock),
        **released_money(conn, released)})
    return answer


def _said(lines: Any) -> str:
    return ", ".join(f"{ln.line_id}={ln.condition}×{ln.quantity}" for ln in lines)


def _answer(conn: Connection, ret: ReturnRow, decision: Decision, lines: list[Received],
            released: tuple[str, ...], duplicate: bool) -> Receipt:
    wanted = {ln.line_id: ln for ln in decision.lines}
    problems = tuple(p for got in lines if got.line_id in wanted
                     and (p := mismatch(wanted[got.line_id], got)))
    return Receipt(ret.decision_id, ret.order_id, tuple(sorted(lines, key=lambda g: g.line_id)),
                   not problems, problems, released, duplicate,
                   tuple(restock_lines(conn, ret.decision_id)))


def claim_restock(conn: Connection, decision_id: str, line_id: str, now: datetime,
                  lease: timedelta) -> RestockClaim | None:
    """Take one due restock for the Saleor call under a lease (None: someone else has it, or
    it is done): a pending one whose wait is over, or one whose try died holding the lease."""
    due = ((rr.restock_status == "pending")
           & (rr.restock_claim_until.is_(None) | (rr.restock_claim_until <= now))) \
        | ((rr.restock_status == "in_progress") & (rr.restock_claim_until <= now))
    taken = conn.execute(update(return_receipts).where(
        rr.decision_id == decision_id, rr.line_id == line_id, due).values(
        restock_status="in_progress", restock_claim_until=now + lease,
        restock_tries=rr.restock_tries + 1)).rowcount == 1
    if not taken:
        return None
    row = conn.execute(select(rr.quantity, rr.restock_tries, rr.restock_before,
                              rr.restock_target).where(
        rr.decision_id == decision_id, rr.line_id == line_id)).one()
    planned = None if row.restock_target is None else \
        Planned(int(row.restock_before), int(row.restock_target))
    return RestockClaim(decision_id, line_id, int(row.quantity), int(row.restock_tries), planned)


@dataclass(frozen=True)
class RestockClaim:
    decision_id: str
    line_id: str
    quantity: int
    tries: int  # this one included
    planned: Planned | None  # an earlier try's plan


def plan_restock(conn: Connection, decision_id: str, line_id: str, planned: Planned) -> None:
    """The quantity read and the one about to be set, saved before the Saleor call."""
    conn.execute(update(return_receipts).where(
        rr.decision_id == decision_id, rr.line_id == line_id,
        rr.restock_status == "in_progress").values(
        restock_before=planned.before, restock_target=planned.target))


def finish_restock(conn: Connection, decision_id: str, line_id: str, status: str,
                   now: datetime, note: str = "", retry_at: datetime | None = None) -> None:
    """The Saleor call's outcome: ``done``, ``failed``, or ``pending`` again (tried again at
    ``retry_at``); the first two journalled."""
    lock_return(conn, decision_id)
    conn.execute(update(return_receipts).where(
        rr.decision_id == decision_id, rr.line_id == line_id).values(
        restock_status=status, restock_claim_until=retry_at, restock_note=note[:2000] or None))
    if status != "pending":
        append_entry(conn, "return_restocked", decision_id,
                     {"line_id": line_id, "status": status, "note": note}, now)
    order_id = None if status != "failed" else conn.execute(select(
        return_shipments.c.order_id).where(return_shipments.c.decision_id == decision_id)).scalar()
    if order_id is not None:  # failed: the journal alone is read by nobody, a person is told
        note_return_trouble(
            conn, kind="restock_failed", order_id=order_id, decision_id=decision_id, now=now,
            detail=(f"Return {decision_id}: line {line_id} was not restocked in Saleor: {note}. "
                    "Check the variant's stock in the Saleor dashboard and set it by hand."))


def pending_restocks(conn: Connection, now: datetime) -> list[tuple[str, str, int]]:
    """Restocks due: pending and not waiting, or held by a try whose lease ran out."""
    rows = conn.execute(select(rr.decision_id, rr.line_id, rr.quantity).where(
        ((rr.restock_status == "pending")
         & (rr.restock_claim_until.is_(None) | (rr.restock_claim_until <= now)))
        | ((rr.restock_status == "in_progress") & (rr.restock_claim_until <= now)))
        .order_by(rr.received_at, rr.id))
    return [(r.decision_id, r.line_id, int(r.quantity)) for r in rows]
