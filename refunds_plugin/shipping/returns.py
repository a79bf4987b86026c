"""The return's state changes, each ONE function run inside the caller's transaction and
journalled (entry types ``return_opened``, ``return_label``, ``return_tracking``,
``return_expired``, ``return_reopened``; receiving is in ``receiving.py``).

instructions ─────────────────────┐      (manual carrier: the customer ships it themselves)
label_pending ──► label_created ──┴──► in_transit (first scan) ──► delivered ──► received
      │  (no label: instructions)          │ failure | return_to_sender (a person looks)
      │    cancelled | error (before any scan: still to send, still expires)
      └──────────────────────────► expired (not scanned by return_by + grace: held money
                                    canceled, label voided) ──(a late scan)──► reopened (review)

Money held by ``refund_on`` is released by the trigger it waits for: ``first_scan`` by the
first carrier scan, ``delivered`` by delivery, ``inspected`` by a matching receipt (each later
trigger also satisfies the earlier ones). The promise clock starts at the first release.

What the customer and the merchant's systems hear is enqueued in the same transaction
(``notify/causes``): the label when it is bought after the approval (``label_ready``), the
expiry (``return_expired``, ``return.expired``), the return-by reminder (``remind``), the
parcel's journey (``journey.py``: first scan, delivery, failure, sent back) and, in
``receiving.py``, the receipt (``item_received``, ``return.received``).
The same triggers tell an exchange waiting for its ``ship_on`` that its new items may ship
(``exchanges.shipping.ship_on_reached``, in the same transaction); an expired return tells an
instant exchange that its original's value is owed (``exchanges.shipping.return_expired``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from refunds_plugin.config import Config, Parcel, choose_address
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.exchanges import shipping as exchange_shipping
from refunds_plugin.ledger.attempts import cancel_held, release_held
from refunds_plugin.ledger.db import aware, lock_order
from refunds_plugin.ledger.journal import append_entry, insert_ignore, to_json
from refunds_plugin.ledger.reviews import open_review
from refunds_plugin.ledger.tables import exchanges, return_shipments
from refunds_plugin.notify import causes
from refunds_plugin.shipping import journey
from refunds_plugin.shipping.carriers import Label, NoLabel
from refunds_plugin.shipping.rows import ReturnRow, Unreadable, get_return, readable, tracked
from refunds_plugin.trouble.follow_ups import note_cancelled_label, note_refused_label

# the read side lives in rows.py; these names stay importable from here for the callers
__all__ = ["ReturnRow", "Unreadable", "get_return", "tracked"]

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
# what EasyPost says of a parcel never scanned that leaves it still to send: the label
# cancelled (a person is told: ``label_cancelled``), or a tracking error (the label still works)
UNSENT = ("cancelled", "error")
WAITING = (*OPEN, *UNSENT)  # expires when not scanned by return_by + grace
REMINDED = (*OPEN, "error")  # a cancelled label's reminder would hand out a dead label
ORDER = {s: i for i, s in enumerate(
    ("instructions", "label_pending", "label_created", "in_transit", "out_for_delivery",
     "available_for_pickup", "delivered", "received"))}


def reference_for(decision_id: str) -> str:
    """Our reference at the carrier: the same on every try of the label step."""
    return f"refunds-return-{decision_id}"


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
    lock_order(conn, facts.order_id)
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


def lock_return(conn: Connection, decision_id: str) -> None:
    """Serialise a return's change with the money checks of its order (``lock_order``): held
    attempts are released or canceled here, never across orders."""
    order_id = conn.execute(select(return_shipments.c.order_id)
                            .where(return_shipments.c.decision_id == decision_id)).scalar()
    if order_id is not None:
        lock_order(conn, order_id)


def record_label(conn: Connection, decision_id: str, label: Label, now: datetime) -> bool:
    """The label is bought: its shipment, tracking code and cost are the ledger's. Once."""
    lock_return(conn, decision_id)
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
        causes.label_ready(conn, decision_id=decision_id, now=now)  # the customer gets it
    return done


def record_no_label(conn: Connection, decision_id: str, why: NoLabel | str, now: datetime,
                    code: str | None = None) -> bool:
    """No label (too dear, no rate, an address refused, or ``failed``: out of tries, or
    ``code`` ``unreadable``: the return's stored rows cannot be read, so no label can ever be
    bought for it): the customer keeps the instructions; a person is told by the log line and
    the finance list, and an address the carrier refused opens a follow-up naming the return
    and the carrier's words (once: this change happens once per return). The return row is
    not read back here (it may be the one that cannot be read)."""
    lock_return(conn, decision_id)
    message = why.message if isinstance(why, NoLabel) else why
    label_status = "no_label" if isinstance(why, NoLabel) else "failed"
    code = why.code if isinstance(why, NoLabel) else code
    done = _set(conn, decision_id, now, expect=("label_pending",), status="instructions",
                label_status=label_status, next_try_at=None, last_error=message[:2000])
    if done:
        _journal(conn, "return_label", decision_id, {
            "label_status": label_status, "note": message,
            **({"code": code} if code else {})}, now)
        log.warning("no return label for decision %s: %s", decision_id, message)
        if isinstance(why, NoLabel) and why.code == "address_rejected":
            ret = get_return(conn, decision_id)
            if ret is not None:
                note_refused_label(conn, order_id=ret.order_id, decision_id=decision_id,
                                   reference=ret.reference, carrier_said=message, now=now)
    return done


def label_retry(conn: Connection, decision_id: str, tries: int, at: datetime, error: str,
                now: datetime) -> None:
    """The carrier could not answer: the label step is tried again at ``at`` (not journalled,
    as an executor's retry of an attempt is a lease, not an outcome)."""
    _set(conn, decision_id, now, expect=("label_pending",), tries=tries, next_try_at=at,
         last_error=error[:2000])


def _fallback_of(conn: Connection, decision_id: str) -> str | None:
    """The decision an exchange of ``decision_id`` fell back to (its money waits here too)."""
    return conn.execute(select(exchanges.c.fallback_decision_id).where(
        exchanges.c.decision_id == decision_id)).scalar()


def reached_triggers(ret: ReturnRow) -> tuple[str, ...]:
    """The ``refund_on`` triggers the return's parcel has already satisfied."""
    return ("approval", *_SATISFIES.get(ret.status, ()))


def wait_also(conn: Connection, decision_id: str, waits: Mapping[str, str],
              now: datetime) -> None:
    """An exchange's fallback decision holds money of ``waits`` (kind → trigger) on this
    return: its triggers release (or its expiry cancels) them with the return's own."""
    ret = get_return(conn, decision_id)
    if ret is None or not waits:
        return
    merged = {**dict(waits), **ret.refund_on}
    _set(conn, decision_id, now, refund_on=to_json(merged),
         **({"released_at": None} if ret.released_at is None else {}))


def _release(conn: Connection, ret: ReturnRow, triggers: tuple[str, ...], now: datetime,
             note: str) -> tuple[str, ...]:
    kinds = tuple(k for k, on in ret.refund_on.items() if on in triggers)
    if not kinds:
        return ()
    released = release_held(conn, ret.decision_id, now, note, kinds)
    fallback = _fallback_of(conn, ret.decision_id)
    if fallback is not None:
        released += release_held(conn, fallback, now, note, kinds)
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
    waits for it. A scan after the return expired reopens it for a person. The return is
    read again under the order's lock: a tracker applied meanwhile (a delivery) is not undone
    by one read before it. Returns the attempts released."""
    lock_order(conn, ret.order_id)
    ret = get_return(conn, ret.decision_id) or ret
    if status not in TRACKED or status == ret.status:
        return ()
    if ret.status == "expired" and status in SCANNED:
        return reopen(conn, ret, f"scanned ({status}) after the return expired", now)
    if ret.status in ("received", "reopened") or ORDER.get(status, 99) < ORDER.get(ret.status, -1):
        return ()  # an older status arriving late, or already in the warehouse's hands
    if status in UNSENT and ret.status not in WAITING or (
            ret.status == "return_to_sender" and status in SCANNED):
        # scanned, a tracking error or late "cancelled" does not make it one to send again;
        # going back to the customer, a later scan or "delivered" may be theirs: nothing is
        # paid on it (a person has the follow-up; the warehouse's receipt releases it)
        log.warning("return parcel of decision %s: %s after %s, kept as %s", ret.decision_id,
                    status, ret.status, ret.status)
        return ()
    _set(conn, ret.decision_id, now, status=status)
    _journal(conn, "return_tracking", ret.decision_id,
             {"status": status, "previous": ret.status, "event_id": event_id}, now)
    if status == "cancelled":
        note_cancelled_label(conn, order_id=ret.order_id, decision_id=ret.decision_id,
                             expires_at=ret.expires_at, now=now)
    if status in ("failure", "return_to_sender", *UNSENT):
        log.warning("return parcel of decision %s: %s", ret.decision_id, status)
    news = journey.noted(conn, ret, status, now)  # the merchant's event, a person's follow-up
    reached(conn, ret, _SATISFIES.get(status, ()), now)
    released = _release(conn, ret, _SATISFIES.get(status, ()), now, f"parcel {status}")
    journey.told(conn, ret, news, released, now)  # the customer's email
    return released


def due_to_expire(conn: Connection, now: datetime,
                  unreadable: dict[str, tuple[str, str]] | None = None) -> list[ReturnRow]:
    """Returns not scanned by their return-by date plus grace. A row that cannot be read goes
    in ``unreadable`` (``rows.readable``) instead of failing the sweep."""
    # past return_by in SQL (each row's grace is added here): the sweep runs every round
    rows = conn.execute(select(return_shipments).where(rs.status.in_(WAITING), rs.return_by <= now)
                        .order_by(rs.return_by, rs.decision_id)).all()
    due = [r for r in rows if aware(r.return_by) + timedelta(days=int(r.grace_days)) <= now]
    return readable(due, {} if unreadable is None else unreadable)


def due_for_reminder(conn: Connection, now: datetime, days: int,
                     unreadable: dict[str, tuple[str, str]] | None = None) -> list[ReturnRow]:
    """Returns not scanned yet whose return-by date is at most ``days`` away, not reminded yet.
    None whose reminder day was already past when it was opened (``return_by_days`` shorter
    than ``days``): its approval email said the date a moment ago. A row that cannot be read
    goes in ``unreadable`` (``rows.readable``) instead of failing the sweep."""
    if days <= 0:
        return []
    rows = conn.execute(select(return_shipments).where(
        rs.status.in_(REMINDED), rs.return_by > now, rs.return_by <= now + timedelta(days=days))
        .order_by(rs.return_by, rs.decision_id)).all()
    due = readable([r for r in rows
                    if (aware(r.created_at) or now) < aware(r.return_by) - timedelta(days=days)],
                   {} if unreadable is None else unreadable)
    done = causes.reminded(conn, [(r.decision_id, r.return_by) for r in due])
    return [r for r in due if r.decision_id not in done]


def remind(conn: Connection, ret: ReturnRow, now: datetime) -> bool:
    """The customer is reminded of the return-by date, once per date; nothing once scanned."""
    if ret.status not in REMINDED:
        return False
    return causes.return_reminder(conn, decision_id=ret.decision_id, return_by=ret.return_by,
                                  now=now)


def expire(conn: Connection, ret: ReturnRow, now: datetime) -> tuple[str, ...]:
    """Not scanned in time: the return expires, its held money is canceled (journalled) and a
    bought label is marked for voiding (``labels.void_due``). Returns the attempts canceled."""
    lock_order(conn, ret.order_id)
    # a label the carrier cancelled is void already: nothing to ask of it
    label_status = ("void_pending" if ret.label_status == "bought" and ret.status != "cancelled"
                    else ret.label_status)
    if not _set(conn, ret.decision_id, now, expect=WAITING, status="expired",
                label_status=label_status, tries=0, next_try_at=now):
        return ()
    why = "return expired: not sent by " + ret.return_by.date().isoformat()
    canceled = cancel_held(conn, ret.decision_id, now, why)
    fallback = _fallback_of(conn, ret.decision_id)
    if fallback is not None:
        canceled += cancel_held(conn, fallback, now, why)
    _journal(conn, "return_expired", ret.decision_id,
             {"status": "expired", "return_by": ret.return_by.isoformat(),
              "canceled": list(canceled), "label_status": label_status}, now)
    causes.return_expired(conn, decision_id=ret.decision_id, now=now,
                          extra={"canceled_attempts": list(canceled)})
    exchange_shipping.return_expired(conn, ret.decision_id, now)
    return canceled


def record_void(conn: Connection, decision_id: str, refund_status: str, now: datetime,
                refused: str | None = None) -> bool:
    """The carrier took the unused label back (``voided``), or will not (``void_refused``:
    e.g. it was used after all; a person sees why)."""
    lock_return(conn, decision_id)
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
    settled = exchange_shipping.original_back(conn, ret.decision_id, now)
    if settled:
        why = f"{why}; instant exchange's original value: {settled}"
    open_review(conn, ret.decision_id, f"late_return: {why}", now)
    return ()


def release_received(conn: Connection, ret: ReturnRow, now: datetime) -> tuple[str, ...]:
    """The warehouse received what was claimed: every trigger is satisfied."""
    return _release(conn, ret, _SATISFIES["received"], now, "received and inspected")


def set_received(conn: Connection, ret: ReturnRow, now: datetime) -> None:
    _set(conn, ret.decision_id, now, status="received")
