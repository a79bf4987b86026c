"""A partial capture's released rest that Stripe sent as a Refund: no refund.

On API versions before 2025-03-31 a partial capture released the uncaptured rest of the
authorisation by creating a Refund on the charge (Stripe's changelog, "Remove refund from partial
capture and payment cancellation flow", docs.stripe.com/changelog/basil/2025-03-31/remove-refund-
from-partial-capture-and-payment-cancellation-flow; support.stripe.com/questions/changes-to-
balance-transaction-behavior-for-partial-capture-and-payment-cancellation-flows), and from
2024-10-28 ``refund.created`` fires for every Refund (docs.stripe.com/changelog/acacia/2024-10-28/
refund-webhook-update). So on versions 2024-10-28 to 2025-03-31 that Refund arrives as an event.
Stripe documents no field that marks it (its ``reason`` is not one of the documented values, its
metadata is the merchant's), so it is recognised by what it is: no attempt of ours, an event on
a version before 2025-03-31, and exactly the payment's uncaptured rest as the inbox's capture
events say it (authorised ``amount`` less ``amount_received`` / ``amount_captured``); one per
payment. Its ``provider_refunds`` row is kept with status ``released``, which no sum counts
as given back. When the capture is not known yet the Refund counts as a refund made outside (a
refundable remainder never grows on a guess) until the capture event arrives (``recheck``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.provider_refunds import RELEASED, mark_released
from refunds_plugin.ledger.tables import events, provider_refunds
from refunds_plugin.stripe.refunded_total import RELEASE_NOT_REFUNDED_SINCE

ENTRY = "stripe_released"  # journal entry type: a Refund recognised as the released rest
CAPTURES = ("payment_intent.succeeded", "charge.succeeded", "charge.captured", "charge.refunded")
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")
_PR = provider_refunds.c


def _before_release_change(api_version: str | None) -> bool:
    """Whether a partial capture made a Refund on this version (an unknown one: no guess)."""
    return api_version is not None and api_version[:10] < RELEASE_NOT_REFUNDED_SINCE


def _payloads(conn: Connection, types: tuple[str, ...], *names: str) -> list[dict[str, Any]]:
    """The inbox's Stripe events of ``types`` whose payload names one of ``names``."""
    said = [events.c.payload.contains(f'"{n}"', autoescape=True) for n in names if n]
    if not said:
        return []
    rows = conn.execute(
        select(events.c.payload).where(
            events.c.source == "stripe", events.c.type.in_(types), or_(*said)
        )
    ).scalars()
    return [json.loads(p) for p in rows]


def _rest_of(obj: dict[str, Any]) -> int:
    """The uncaptured rest a PaymentIntent or a captured charge says: 0 when none."""
    amount = obj.get("amount")
    got = (
        obj.get("amount_received")
        if obj.get("object") == "payment_intent"
        else (obj.get("amount_captured") if obj.get("captured") else None)
    )
    if not isinstance(amount, int) or not isinstance(got, int) or got <= 0:
        return 0
    return max(0, amount - got)


def rest(conn: Connection, intent: str | None, charge: str | None) -> int:
    """The payment's uncaptured rest as its capture events in the inbox say it (0: unknown)."""
    names = {n for n in (intent, charge) if n}
    found = 0
    for event in _payloads(conn, CAPTURES, *names):
        obj = (event.get("data") or {}).get("object") or {}
        if obj.get("id") in names:
            found = max(found, _rest_of(obj))
    return found


def _names(refund: dict[str, Any]) -> tuple[str | None, str | None]:
    pi, charge = refund.get("payment_intent"), refund.get("charge")
    pi = pi.get("id") if isinstance(pi, dict) else pi
    charge = charge.get("id") if isinstance(charge, dict) else charge
    return (pi if isinstance(pi, str) else None), (charge if isinstance(charge, str) else None)


def is_release(
    conn: Connection, refund: dict[str, Any], reference: str | None, api_version: str | None
) -> bool:
    """Whether this Refund, none of ours, is the payment's released rest (module docstring)."""
    if reference is None or not _before_release_change(api_version):
        return False
    if refund.get("status") in ("failed", "canceled"):
        return False
    amount = refund.get("amount")
    if not isinstance(amount, int) or amount <= 0 or amount != rest(conn, *_names(refund)):
        return False
    other = conn.execute(
        select(_PR.refund_id)
        .where(
            _PR.provider == "stripe",
            _PR.payment_reference == reference,
            _PR.status == RELEASED,
            _PR.refund_id != refund["id"],
        )
        .limit(1)
    ).first()
    return other is None


def note(
    conn: Connection, reference: str, refund: dict[str, Any], api_version: str | None, now: datetime
) -> None:
    """Journal the Refund recognised as the released rest (its row says ``released``)."""
    append_entry(
        conn,
        ENTRY,
        f"stripe:{reference}",
        {"refund_id": refund["id"], "amount": int(refund["amount"]), "api_version": api_version},
        now,
    )


def recheck(conn: Connection, reference: str, now: datetime) -> bool:
    """After a capture event: a Refund of the payment counted as made outside because it came
    before the capture, which is its released rest, is ``released`` now. True when one was."""
    rows = (
        conn.execute(
            select(_PR.refund_id).where(
                _PR.provider == "stripe",
                _PR.payment_reference == reference,
                _PR.attempt_id.is_(None),
                _PR.status.in_(("succeeded", "pending")),
            )
        )
        .scalars()
        .all()
    )
    for refund_id in rows:
        for event in _payloads(conn, REFUND_EVENTS, refund_id):
            obj = (event.get("data") or {}).get("object") or {}
            if obj.get("id") != refund_id:
                continue
            version = event.get("api_version")
            if is_release(conn, obj, reference, version if isinstance(version, str) else None):
                mark_released(conn, "stripe", refund_id, now)
                note(conn, reference, obj, version, now)
                return True
    return False
