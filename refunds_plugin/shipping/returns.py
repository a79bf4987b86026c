"""The return's state changes, each ONE function run inside the caller's transaction and
journalled (entry types ``return_opened``, ``return_label``, ``return_tracking``,
``return_expired``, ``return_reopened``; receiving is in ``receiving.py``).

instructions ─────────────────────┐      (manual carrier: the customer ships it themselves)
label_pending ──► label_created ──┴──► in_transit (first scan) ──► delivered ──► received
      │  (no label: instructions)          │ failure | return_to_sender (a person looks)
      └──────────────────────────► expired (not scanned by return_by + grace: held money
                                    canceled, label voided) ──(a late scan)──► reopened (review)

Money held by ``refund_on`` is released by the trigger it waits for: ``first_scan`` by the
first carrier scan, ``delivered`` by delivery, ``inspected`` by a matching receipt (each later
trigger also satisfies the earlier ones). The promise clock starts at the first release. The
same triggers tell an exchange waiting for its ``ship_on`` that its new items may ship
(``exchanges.shipping.ship_on_reached``, in the same transaction); an expired return tells an
instant exchange that its original's value is owed (``exchanges.shipping.return_expired``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from refunds_plugin.config import Config, Parcel, choose_address
from refunds_plugin.domain import Decision, OrderFacts, ResolutionKind
from refunds_plugin.exchanges import shipping as exchange_shipping
from refunds_plugin.ledger.attempts import cancel_held, release_held
from refunds_plugin.ledger.db import aware, lock_ledger
from refunds_plugin.ledger.journal import append_entry, insert_ignore, to_json
from refunds_plugin.ledger.reviews import open_review
from refunds_plugin.ledger.tables import orders, return_shipments
from refunds_plugin.shipping.carriers import Label, NoLabel

log = logging.getLogger("refunds.shipping")
rs = return_shipments.c

# EasyPost's tracker statuses, as we store them (``unknown`` and ``pre_transit`` change nothing)
SCANNED = ("in_transit", "out_for_delivery", "available_for_pickup", "delivered")
TRACKED = (*SCANNED, "failure", "return_to_sender", "cancelled", "error")
# what a status satisfies among the ``refund_on`` triggers
_SATISFIES = {"in_transit": ("first_scan",), "out_for_delivery": ("first_scan",),
              "available_for_pickup": ("first_scan",),
              "delivered": ("first_scan", "delivered"),
              "received": ("first_scan", "delivered", "inspected")}
OPEN = ("instructions", "label_pending", "label_created")  # not scanned yet: may expire
ORDER = {s: i for i, s in enumerate(
    ("instructions", "label_pending", "label_created", "in_transit", "out_for_delivery",
     "available_for_pickup", "delivered", "received"))}


def reference_for(decision_id: str) -> str:
    """Our reference at the carrier: the same on every try of the label step."""
    return f"refunds-return-{decision_id}"


@dataclass(frozen=True)
class ReturnRow:
    decision_id: str
    order_id: str
    status: str
    label_status: str
    carrier: str
    address: dict[str, str]
    from_address: dict[str, str] | None
    parcel: dict[str, int]
    refund_on: dict[str, str]
    tracking_code: str | None
    label_url: str | None
    qr_code_url: str | None
    shipment_id: str | None
    carrier_service: str | None
    label_amount: int | None
    label_currency: str | None
    label_fee: int
    return_by: datetime
    grace_days: int
    released_at: datetime | None
    tries: int
    last_error: str | None
    reference: str

    @classmethod
    def from_row(cls, r: Any) -> ReturnRow:
        return_by = aware(r.return_by)
        assert return_by is not None
        return cls(
            r.decision_id, r.order_id, r.status, r.label_status, r.carrier,
            json.loads(r.address), json.loads(r.from_address) if r.from_address else None,
            json.loads(r.parcel) if r.parcel else {}, json.loads(r.refund_on), r.tracking_code,
            r.label_url, r.qr_code_url, r.shipment_id, r.carrier_service,
            None if r.label_amount is None else int(r.label_amount), r.label_currency,
            int(r.label_fee or 0), return_by, int(r.grace_days), aware(r.released_at),
            int(r.tries), r.last_error, r.reference)

    @property
    def expires_at(self) -> datetime:
        return self.return_by + timedelta(days=self.grace_days)

    @property
    def carrier_name(self) -> str | None:
        """The carrier the customer hands the parcel to (``USPS``), when a label was bought."""
        return self.carrier_service.split(" ", 1)[0] if self.carrier_service else None

    def instructions(self) -> dict[str, Any]:
        """``return_instructions`` as the answer, pages and ``ledger list --json`` show them."""
        return {
            "address": self.address,
            "return_by": self.return_by.isoformat(timespec="seconds"),
            "label_url": self.label_url,
            "qr_code_url": self.qr_code_url,
            "tracking_code": self.tracking_code,
            "carrier": self.carrier_name,
            "status": self.status,
            "label_status": self.label_status,
        }


def get_return(conn: Connection, decision_id: str) -> ReturnRow | None:
    row = conn.execute(select(return_shipments).where(rs.decision_id == decision_id)).first()
    return ReturnRow.from_row(row) if row else None


def by_tracking_code(conn: Connection, code: str) -> ReturnRow | None:
    row = conn.execute(select(return_shipments).where(rs.tracking_code == code)).first()
    return ReturnRow.from_row(row) if row else None


def _journal(conn: Connection, kind: str, decision_id: str, body: dict[str, Any],
             now: datetime) -> None:
    append_entry(conn, kind, decision_id, body, now)


def _set(conn: Connection, decision_id: str, now: datetime, *,
         expect: tuple[str, ...] | None = None, **values: Any) -> bool:
    stmt = update(return_shipments).where(rs.decision_id == decision_id)
    if expect is not None:
        stmt = stmt.where(rs.status.in_(expect))
    return bool(conn.execute(stmt.values(updated_at=now, **values)).rowcount == 1)


def _parcel(facts: OrderFacts, decision: Decision, default: Parcel,
            weights: Mapping[str, Any]) -> Parcel:
    """The default parcel, with the returned lines' weight when the order gave every one."""
    grams = [int(weights[ln.line_id]) * ln.quantity for ln in decision.lines
             if ln.return_required and isinstance(weights.get(ln.line_id), int)]
    needed = [ln for ln in decision.lines if ln.return_required]
    if grams and len(grams) == len(needed):
        return Parcel(sum(grams), default.length_cm, default.width_cm, default.height_cm)
    return default


def open_return(conn: Connection, decision_id: str, decision: Decision, facts: OrderFacts,
                extra: Mapping[str, Any], config: Config, policy_rules: Any,
                refund_on: Mapping[ResolutionKind, str], now: datetime) -> ReturnRow | None:
    """An approved decision whose items must come back: where to, by when, whether a label is
    bought, and when its money moves. Once per decision. None: no return address is set."""
    ship_to = extra.get("shipping_address") if isinstance(extra, Mapping) else None
    country = ship_to.get("country") if isinstance(ship_to, dict) else None
    address = choose_address(config.return_addresses, country)
    if address is None:
        return None
    lock_ledger(conn)
    label = policy_rules.label == "easypost" and config.carrier == "easypost"
    waits = {k.value: on for k, on in refund_on.items()}
    held = any(on != "approval" for on in waits.values())
    fee = sum(f.amount for f in decision.fees if f.code == "return_shipping") \
        if policy_rules.paid_by == "customer" else 0
    parcel = _parcel(facts, decision, config.return_parcel, extra.get("line_weights") or {})
    row = {
        "decision_id": decision_id, "order_id": facts.order_id,
        "status": "label_pending" if label else "instructions",
        "label_status": "pending" if label else "none",
        "carrier": "easypost" if label else "manual",
        "reference": reference_for(decision_id),
        "address": to_json(address.as_dict()),
        "from_address": to_json(ship_to) if isinstance(ship_to, dict) else None,
        "parcel": to_json(parcel.__dict__), "refund_on": to_json(waits),
        "label_fee": fee, "return_by": now + timedelta(days=policy_rules.return_by_days),
        "grace_days": policy_rules.grace_days, "released_at": None if held else now,
        "tries": 0, "next_try_at": now if label else None,
        "created_at": now, "updated_at": now,
    }
    if not insert_ignore(conn, return_shipments, row):
        return get_return(conn, decision_id)
    _journal(conn, "return_opened", decision_id, {
        "status": row["status"], "carrier": row["carrier"], "address": address.as_dict(),
        "return_by": row["return_by"].isoformat(), "refund_on": waits, "label_fee": fee}, now)
    return get_return(conn, decision_id)


def record_label(conn: Connection, decision_id: str, label: Label, now: datetime) -> bool:
    """The label is bought: its shipment, tracking code and cost are the ledger's. Once."""
    lock_ledger(conn)
    done = _set(conn, decision_id, now, expect=("label_pending",),
                status="label_created", label_status="bought", shipment_id=label.shipment_id,
                tracking_code=label.tracking_code, label_url=label.label_url,
                qr_code_url=label.qr_code_url, carrier_service=f"{label.carrier} {label.service}",
                label_amount=label.amount, label_currency=label.currency, next_try_at=None,
                last_error=None)
    if done:
        _journal(conn, "return_label", decision_id, {
            "label_status": "bought", "shipment_id": label.shipment_id,
            "tracking_code": label.tracking_code, "carrier": label.carrier,
            "service": label.service, "amount": label.amount, "currency": label.currency}, now)
    return done


def record_no_label(conn: Connection, decision_id: str, why: NoLabel | str, now: datetime,
                    code: str = "failed") -> bool:
    """No label (too dear, no rate, an address refused, or out of tries): the customer keeps
    the instructions; a person is told by the log line and the finance list."""
    lock_ledger(conn)
    message = why.message if isinstance(why, NoLabel) else why
    label_status = "no_label" if isinstance(why, NoLabel) else code
    done = _set(conn, decision_id, now, expect=("label_pending",), status="instructions",
                label_status=label_status, next_try_at=None, last_error=message[:2000])
    if done:
        _journal(conn, "return_label", decision_id, {
            "label_status": label_status, "note": message,
            **({"code": why.code} if isinstance(why, NoLabel) else {})}, now)
        log.warning("no return label for decision %s: %s", decision_id, message)
    return done


def label_retry(conn: Connection, decision_id: str, tries: int, at: datetime, error: str,
                now: datetime) -> None:
    """The carrier could not answer: the label step is tried again at ``at`` (not journalled,
    as an executor's retry of an attempt is a lease, not an outcome)."""
    _set(conn, decision_id, now, expect=("label_pending",), tries=tries, next_try_at=at,
         last_error=error[:2000])


def _release(conn: Connection, ret: ReturnRow, triggers: tuple[str, ...], now: datetime,
             note: str) -> tuple[str, ...]:
    kinds = tuple(k for k, on in ret.refund_on.items() if on in triggers)
    if not kinds:
        return ()
    released = release_held(conn, ret.decision_id, now, note, kinds)
    if released and ret.released_at is None:
        _set(conn, ret.decision_id, now, released_at=now)
    return released


def reached(conn: Connection, ret: ReturnRow, triggers: tuple[str, ...], now: datetime) -> None:
    """The parcel satisfied ``triggers`` (in order, the furthest last): an exchange of the same
    decision waiting for one of them may now ship."""
    if triggers:
        exchange_shipping.ship_on_reached(conn, ret.decision_id, triggers[-1], now)


def mark_tracking(conn: Connection, ret: ReturnRow, status: str, event_id: str,
                  now: datetime) -> tuple[str, ...]:
    """A carrier status for the return's parcel: stored and journalled; a scan releases what
    waits for it. A scan after the return expired reopens it for a person. Returns the
    attempts released."""
    lock_ledger(conn)
    if status not in TRACKED or status == ret.status:
        return ()
    if ret.status == "expired" and status in SCANNED:
        return reopen(conn, ret, f"scanned ({status}) after the return expired", now)
    if ret.status in ("received", "reopened") or ORDER.get(status, 99) < ORDER.get(ret.status, -1):
        return ()  # an older status arriving late, or already in the warehouse's hands
    _set(conn, ret.decision_id, now, status=status)
    _journal(conn, "return_tracking", ret.decision_id,
             {"status": status, "previous": ret.status, "event_id": event_id}, now)
    if status in ("failure", "return_to_sender"):
        log.warning("return parcel of decision %s: %s", ret.decision_id, status)
    reached(conn, ret, _SATISFIES.get(status, ()), now)
    return _release(conn, ret, _SATISFIES.get(status, ()), now, f"parcel {status}")


def due_to_expire(conn: Connection, now: datetime) -> list[ReturnRow]:
    """Returns not scanned by their return-by date plus grace."""
    # past return_by in SQL (each row's grace is added here): the sweep runs every round
    rows = conn.execute(select(return_shipments).where(rs.status.in_(OPEN), rs.return_by <= now)
                        .order_by(rs.return_by, rs.decision_id))
    return [r for r in map(ReturnRow.from_row, rows) if r.expires_at <= now]


def expire(conn: Connection, ret: ReturnRow, now: datetime) -> tuple[str, ...]:
    """Not scanned in time: the return expires, its held money is canceled (journalled) and a
    bought label is marked for voiding (``labels.void_due``). Returns the attempts canceled."""
    lock_ledger(conn)
    label_status = "void_pending" if ret.label_status == "bought" else ret.label_status
    if not _set(conn, ret.decision_id, now, expect=OPEN, status="expired",
                label_status=label_status, tries=0, next_try_at=now):
        return ()
    canceled = cancel_held(conn, ret.decision_id, now, "return expired: not sent by "
                           + ret.return_by.date().isoformat())
    _journal(conn, "return_expired", ret.decision_id,
             {"status": "expired", "return_by": ret.return_by.isoformat(),
              "canceled": list(canceled), "label_status": label_status}, now)
    exchange_shipping.return_expired(conn, ret.decision_id, now)
    return canceled


def record_void(conn: Connection, decision_id: str, refund_status: str, now: datetime,
                refused: str | None = None) -> bool:
    """The carrier took the unused label back (``voided``), or will not (``void_refused``:
    e.g. it was used after all; a person sees why)."""
    lock_ledger(conn)
    label_status = "voided" if refused is None else "void_refused"
    done = _set(conn, decision_id, now, label_status=label_status, last_error=refused,
                next_try_at=None)
    if done:
        _journal(conn, "return_label", decision_id,
                 {"label_status": label_status, "refund_status": refund_status,
                  **({"note": refused} if refused else {})}, now)
    return done


def void_retry(conn: Connection, decision_id: str, tries: int, at: datetime, error: str,
               now: datetime) -> None:
    """The carrier could not answer the void: asked again at ``at``."""
    conn.execute(update(return_shipments).where(
        rs.decision_id == decision_id, rs.label_status == "void_pending").values(
        tries=tries, next_try_at=at, last_error=error[:2000], updated_at=now))


def reopen(conn: Connection, ret: ReturnRow, why: str, now: datetime) -> tuple[str, ...]:
    """A parcel seen after its return expired: back to a person (a review), nothing paid."""
    if not _set(conn, ret.decision_id, now, expect=("expired",), status="reopened"):
        return ()
    _journal(conn, "return_reopened", ret.decision_id, {"status": "reopened", "note": why}, now)
    open_review(conn, ret.decision_id, f"late_return: {why}", now)
    return ()


def release_received(conn: Connection, ret: ReturnRow, now: datetime) -> tuple[str, ...]:
    """The warehouse received what was claimed: every trigger is satisfied."""
    return _release(conn, ret, _SATISFIES["received"], now, "received and inspected")


def set_received(conn: Connection, ret: ReturnRow, now: datetime) -> None:
    _set(conn, ret.decision_id, now, status="received")


def listed(conn: Connection, status: str | None = None, limit: int = 200) -> list[ReturnRow]:
    """Returns, newest first (``refunds returns list``, the receiving page)."""
    query = select(return_shipments).order_by(rs.created_at.desc(), rs.decision_id).limit(limit)
    if status:
        query = query.where(rs.status == status)
    return [ReturnRow.from_row(r) for r in conn.execute(query)]


def by_order(conn: Connection, order_or_code: str) -> list[ReturnRow]:
    """Find returns by order id, order number or tracking code (the packing table's search)."""
    text = order_or_code.strip()
    ids = select(orders.c.order_id).where(orders.c.order_number == text)
    rows = conn.execute(select(return_shipments).where(
        (rs.order_id == text) | (rs.tracking_code == text) | rs.order_id.in_(ids))
        .order_by(rs.created_at.desc()))
    return [ReturnRow.from_row(r) for r in rows]
