"""How much Stripe says is refunded on a payment, as of the newest event that said so.

A charge's ``amount_refunded`` goes down as well as up: a refund that fails or is canceled
after it was counted gives its amount back. Stripe delivers events in any order, so each
``charge.refunded`` is journalled as a snapshot with the event's ``created`` time, and only the
newest snapshot counts. From it we subtract the refunds it counted that failed after it was
taken; their creation and failure times come from the refund events in the inbox (read only
for payments that have a failed refund). ``payments.refunded_reported`` holds the result.

``amount_refunded`` counts pending refunds too. Our own refunds a report counts are marked
(``ledger.provider_refunds.mark_counted``), so the facts count them once, as pending: the
one whose request made Stripe send the event (its ``request.idempotency_key``), and those
the charge's ``refunds`` list names where the API version includes it.

On API versions before 2025-03-31 a partial capture releases the uncaptured rest as a Refund and
counts it in ``amount_refunded``: no money the customer paid, so it is left out (``released``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.journal import append_entry, latest_body
from refunds_plugin.ledger.orders import lock_payment, set_refunded
from refunds_plugin.ledger.provider_refunds import mark_counted
from refunds_plugin.ledger.tables import events, provider_refunds

SNAPSHOT = "stripe_refunded"  # journal entry type: a charge's amount_refunded as of an event
SETTLED = "payment_refunded"  # journal entry type: the refunded total we now count, and why
GIVEN_BACK = ("failed", "canceled")  # refund statuses Stripe no longer counts as refunded
# what a Stripe refund's status means for the attempt that asked for it (reconcile reads it too)
REFUND_STATUS = {
    "succeeded": AttemptStatus.SUCCEEDED,
    "pending": AttemptStatus.SENT,
    "requires_action": AttemptStatus.SENT,
    "failed": AttemptStatus.FAILED,
    "canceled": AttemptStatus.FAILED,
}
FAILURE_EVENTS = ("refund.failed", "refund.updated", "charge.refund.updated")
# from this API version on, a partial capture's uncaptured rest is no refund (Stripe's changelog)
RELEASE_NOT_REFUNDED_SINCE = "2025-03-31"

_PR = provider_refunds.c
_GIVEN_BACK = select(_PR.refund_id, _PR.amount).where(
    _PR.provider == "stripe",
    _PR.payment_reference == bindparam("reference"),
    _PR.status.in_(GIVEN_BACK),
)


@dataclass(frozen=True)
class Snapshot:
    amount_refunded: int
    as_of: int  # the reporting event's ``created`` (unix seconds)


def event_created(payload: str, now: datetime) -> int:
    """The event's ``created``; when it is missing, the time we received it."""
    created = json.loads(payload).get("created")
    return created if isinstance(created, int) else int(now.timestamp())


def event_api_version(payload: str) -> str | None:
    """The API version Stripe rendered the event's object in; None when it does not say."""
    version = json.loads(payload).get("api_version")
    return version if isinstance(version, str) and version else None


def event_request_key(payload: str) -> str | None:
    """The idempotency key of the API request that made Stripe send the event (its
    ``request.idempotency_key``): ours when our refund request did; None for any other cause."""
    request = json.loads(payload).get("request")
    key = request.get("idempotency_key") if isinstance(request, dict) else None
    return key if isinstance(key, str) and key else None


def released(charge: dict[str, Any], api_version: str | None) -> int:
    """What of the charge's ``amount_refunded`` is a partial capture's uncaptured rest, which
    Stripe counted as refunded before API version 2025-03-31: the authorised ``amount`` less
    ``amount_captured``. 0 on later versions, and when the version is not said (the safe side:
    a refundable remainder never grows on a guess)."""
    if api_version is None or api_version[:10] >= RELEASE_NOT_REFUNDED_SINCE:
        return 0
    amount, captured = charge.get("amount"), charge.get("amount_captured")
    if not charge.get("captured") or not isinstance(amount, int) or not isinstance(captured, int):
        return 0
    return max(0, amount - captured) if captured > 0 else 0


def subject(reference: str) -> str:
    """The journal subject of a payment's snapshots and settlements."""
    return f"stripe:{reference}"


def latest(conn: Connection, reference: str) -> Snapshot | None:
    body = latest_body(conn, SNAPSHOT, subject(reference))
    if body is None:
        return None
    data = json.loads(body)
    return Snapshot(int(data["amount_refunded"]), int(data["as_of"]))


def report(
    conn: Connection,
    reference: str,
    charge: dict[str, Any],
    *,
    event_id: str,
    created: int,
    now: datetime,
    api_version: str | None = None,
    request_key: str | None = None,
) -> str:
    """Apply a ``charge.refunded``: journal it if it is the newest word, then settle. What it
    counts is ``amount_refunded`` less a partial capture's ``released`` rest. ``request_key``:
    the idempotency key of the request that made Stripe send it (``event_request_key``)."""
    # "is this the newest word?" and the append must not interleave
    lock_payment(conn, "stripe", reference)
    rest = released(charge, api_version)
    amount = max(0, int(charge.get("amount_refunded") or 0) - rest)
    known = latest(conn, reference)
    if known is not None and (
        created < known.as_of or (created == known.as_of and amount <= known.amount_refunded)
    ):
        # an older event, or one from the same second saying no more: the newer word stands.
        # What an older one counted, the newer counts too (``mark_counted``); of one from the
        # same second that is not sure
        if created < known.as_of and _mark(conn, reference, charge, request_key, event_id, now):
            settle(conn, reference, now)
            return "refunded total already known from a newer event; our refunds it counts marked"
        return "refunded total already known from a newer event"
    body = {
        "provider": "stripe",
        "reference": reference,
        "charge_id": charge.get("id"),
        "amount_refunded": amount,
        "as_of": created,
        "event_id": event_id,
        **({"released": rest} if rest else {}),
    }
    append_entry(conn, SNAPSHOT, subject(reference), body, now)
    _mark(conn, reference, charge, request_key, event_id, now)
    return "refunded total changed" if settle(conn, reference, now) else "refunded total unchanged"


def _mark(conn: Connection, reference: str, charge: dict[str, Any], request_key: str | None,
          event_id: str, now: datetime) -> bool:
    """Mark our refunds this charge's ``amount_refunded`` counts (a pending one included): the
    one whose request made Stripe send the event, and those the charge's ``refunds`` list
    names (API versions before 2022-11-15 include it). True when any was newly marked."""
    listed = (charge.get("refunds") or {}).get("data") if isinstance(
        charge.get("refunds"), dict) else None
    listed = [r for r in listed or () if isinstance(r, dict)
              and r.get("status") not in GIVEN_BACK]
    refund_ids = tuple(str(r["id"]) for r in listed if r.get("id"))
    attempt_ids = tuple(str((r.get("metadata") or {})["attempt_id"]) for r in listed
                        if (r.get("metadata") or {}).get("attempt_id"))
    return bool(mark_counted(conn, "stripe", reference, key=request_key, refund_ids=refund_ids,
                             attempt_ids=attempt_ids, event_id=event_id, now=now))


def settle(conn: Connection, reference: str, now: datetime) -> bool:
    """Set the payment's reported refunded total from the newest snapshot, less the refunds it
    counted that failed or were canceled after it was taken. False when nothing changed."""
    if latest(conn, reference) is None:
        return False  # no charge has reported a total yet: nothing counted, nothing to give back
    lock_payment(conn, "stripe", reference)  # (a report that adds one settles under it too)
    known = latest(conn, reference)
    assert known is not None  # snapshots are never deleted
    given_back = 0
    for refund_id, amount in conn.execute(_GIVEN_BACK, {"reference": reference}).all():
        created, failed_at = _refund_times(conn, refund_id)
        # created in the snapshot's own second: maybe not counted yet, so not given back (the
        # safe side: a refundable remainder never grows on a guess)
        counted = created is None or created < known.as_of
        if counted and failed_at is not None and failed_at > known.as_of:
            given_back += int(amount)
    total = max(0, known.amount_refunded - given_back)
    if not set_refunded(conn, "stripe", reference, total, now):
        return False
    body = {"refunded_reported": total, "snapshot": known.amount_refunded, "as_of": known.as_of,
            "given_back": given_back}
    append_entry(conn, SETTLED, subject(reference), body, now)
    return True


def _refund_times(conn: Connection, refund_id: str) -> tuple[int | None, int | None]:
    """When the refund was created and when Stripe first said it failed, from the inbox."""
    rows = conn.execute(
        select(events.c.payload, events.c.received_at).where(
            events.c.source == "stripe",
            events.c.type.in_(FAILURE_EVENTS),
            events.c.payload.contains(f'"{refund_id}"', autoescape=True),
        )
    ).all()
    created: int | None = None
    failed_at: int | None = None
    for payload, received_at in rows:
        event = json.loads(payload)
        obj = (event.get("data") or {}).get("object") or {}
        if obj.get("id") != refund_id or obj.get("status") not in GIVEN_BACK:
            continue
        when = event.get("created")
        if not isinstance(when, int):
            when = int(aware(received_at).timestamp())
        failed_at = when if failed_at is None else min(failed_at, when)
        if isinstance(obj.get("created"), int):
            created = obj["created"]
    return created, failed_at
