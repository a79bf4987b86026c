"""What Stripe's events tell the ledger: payments captured, refunds made (by us or not), disputes.

``apply`` does what one event means, inside the transaction ``intake.service`` opens with the
event's inbox row (a redelivery is a no-op; a crash leaves all of it or none of it);
``after_event`` then wakes the trouble detectors for a payment that succeeded, or opens a
follow-up for one that failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

import policies
from refunds_plugin.domain.facts import Customer
from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.exchanges import fallback
from refunds_plugin.ledger.attempt_reads import find_by_provider_reference
from refunds_plugin.ledger.attempts import get_attempt, settle_from_provider, transition
from refunds_plugin.ledger.db import lock_key, lock_order
from refunds_plugin.ledger.orders import payment_row, record_payment
from refunds_plugin.ledger.provider_refunds import RELEASED, upsert_provider_refund
from refunds_plugin.ledger.tables import payments
from refunds_plugin.money import normalize_currency
from refunds_plugin.routing import Route
from refunds_plugin.stripe import disputes, releases
from refunds_plugin.stripe import refunded_total as stripe_refunded
from refunds_plugin.stripe.checkout import exchange_note, exchange_of, on_checkout_completed
from refunds_plugin.trouble import follow_ups
from refunds_plugin.trouble.corrections import Woken, adopt_payment, correct, woken
from refunds_plugin.trouble.follow_ups import clear_follow_ups

log = logging.getLogger("refunds.stripe")
Handler = Callable[[Connection, dict[str, Any], datetime], str]

# a charge captured later (``capture: false``) says so in ``charge.captured`` only: with no
# PaymentIntent (the Charges API) nothing else records it
SUCCEEDED = ("payment_intent.succeeded", "charge.succeeded", "charge.captured")
FAILED = "payment_intent.payment_failed"


def _customer(obj: dict[str, Any]) -> Customer:
    email = obj.get("receipt_email") or (obj.get("billing_details") or {}).get("email")
    cust = obj.get("customer")
    return Customer(id=cust if isinstance(cust, str) else None, email=email)


def _order_id(obj: dict[str, Any]) -> str | None:
    meta = obj.get("metadata") or {}
    value = meta.get("order_id")
    return str(value) if value else None


def _payment_intent(obj: dict[str, Any]) -> str | None:
    pi = obj.get("payment_intent")
    if isinstance(pi, dict):
        pi = pi.get("id")
    return pi if isinstance(pi, str) else None


def _latest_charge(intent: dict[str, Any]) -> str | None:
    """The intent's charge: ``latest_charge`` (an id, or the object when expanded), or on API
    versions before 2022-11-15 the first of its ``charges``."""
    latest = intent.get("latest_charge")
    if isinstance(latest, dict):
        latest = latest.get("id")
    if isinstance(latest, str):
        return latest
    listed = (intent.get("charges") or {}).get("data") or []
    first = listed[0].get("id") if listed and isinstance(listed[0], dict) else None
    return first if isinstance(first, str) else None


def _names(type_: str, obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(PaymentIntent, charge): the two names Stripe gives the money an event is about."""
    if type_.startswith("payment_intent."):
        return str(obj["id"]), _latest_charge(obj)
    if type_ in ("charge.succeeded", "charge.captured", "charge.refunded"):
        return _payment_intent(obj), str(obj["id"])
    charge = obj.get("charge")
    if isinstance(charge, dict):
        charge = charge.get("id")
    return _payment_intent(obj), charge if isinstance(charge, str) else None


def payment_reference(conn: Connection, type_: str, obj: dict[str, Any]) -> str | None:
    """The reference of the payment row this event is about, found by either of its names
    (a storefront may have named it by its charge first); None when no row holds it."""
    pi, charge = _names(type_, obj)
    return payment_row(conn, "stripe", pi or charge, charge)


def on_payment_intent_succeeded(conn: Connection, obj: dict[str, Any], now: datetime,
                                livemode: bool | None = None) -> str:
    """Record the intent's payment, in the mode Stripe captured it (``livemode``)."""
    order_id = _order_id(obj)
    reference = record_payment(
        conn,
        provider="stripe",
        reference=obj["id"],
        order_id=order_id,
        currency=normalize_currency(obj["currency"]),
        captured=int(obj.get("amount_received") or 0),
        customer=_customer(obj),
        now=now,
        confirmed=True,
        charge_id=_latest_charge(obj),
        livemode=livemode,
    )
    if order_id and livemode is not False:  # a test-mode payment paid no one's order
        clear_follow_ups(conn, order_id, now)
    # a dispute or a charge.refunded that arrived before the payment was journalled but had no
    # row to update: apply it now
    disputed = disputes.settle(conn, reference, (obj["id"], _latest_charge(obj)), now)
    stripe_refunded.settle(conn, reference, now)
    releases.recheck(conn, reference, now)  # a released rest's Refund that came first
    return "payment recorded" + _named_before(reference, obj["id"]) + _DISPUTED[disputed]


def on_charge_succeeded(conn: Connection, obj: dict[str, Any], now: datetime,
                        livemode: bool | None = None) -> str:
    """Record the charge's payment, in the mode Stripe captured it (``livemode``): on
    ``charge.succeeded``, or on ``charge.captured`` for one captured later."""
    if not obj.get("captured", True):
        return "authorisation only: nothing captured yet"
    reference = record_payment(
        conn,
        provider="stripe",
        reference=_payment_intent(obj) or obj["id"],
        order_id=_order_id(obj),
        currency=normalize_currency(obj["currency"]),
        captured=int(obj.get("amount_captured") or obj.get("amount") or 0),
        customer=_customer(obj),
        now=now,
        confirmed=True,
        charge_id=obj["id"],
        livemode=livemode,
    )
    disputed = disputes.settle(conn, reference, (_payment_intent(obj), obj["id"]), now)
    stripe_refunded.settle(conn, reference, now)  # as above
    releases.recheck(conn, reference, now)
    return ("payment recorded" + _named_before(reference, _payment_intent(obj) or obj["id"])
            + _DISPUTED[disputed])


_DISPUTED = {False: "", True: "; a dispute Stripe reported before it applied"}


def _named_before(reference: str, name: str) -> str:
    return f" (the payment known as {reference})" if reference != name else ""


def on_charge_refunded(
    conn: Connection, obj: dict[str, Any], now: datetime, *, event_id: str, created: int,
    api_version: str | None = None, request_key: str | None = None,
) -> str:
    """Stripe's ``amount_refunded`` as of this event (without a partial capture's released
    rest, which ``api_version`` says it counts); it can go down, and only the newest event
    counts (``refunded_total``). ``request_key``: our refund request's, when one made Stripe
    send it (that refund, even pending, is counted in ``amount_refunded``)."""
    reference = payment_reference(conn, "charge.refunded", obj) or _payment_intent(obj) or obj["id"]
    said = stripe_refunded.report(conn, reference, obj, event_id=event_id, created=created,
                                  now=now, api_version=api_version, request_key=request_key)
    releases.recheck(conn, reference, now)  # its rest is known now
    return said


def on_refund(conn: Connection, obj: dict[str, Any], now: datetime,
              livemode: bool | None = None, api_version: str | None = None) -> str:
    """``refund.created|updated|failed``: record Stripe's refund and settle our attempt, in
    the event's mode (``livemode``: False for Stripe's test mode, where no real money moves).

    A failed or canceled refund that a ``charge.refunded`` had counted gives its amount back;
    our attempt moves to Stripe's status, so a failed one is ``failed`` and
    ``ledger.attempts.transition`` opens its review; one that fails after it had succeeded
    frees its amount and opens (or re-opens) its review. A refund we did not make is recorded
    as such, unless it is a partial capture's released rest (``releases``, by ``api_version``):
    recorded ``released``, no money back."""
    meta = obj.get("metadata") or {}
    attempt = None
    if meta.get("attempt_id"):
        attempt = get_attempt(conn, str(meta["attempt_id"]))
    if attempt is None:
        attempt = find_by_provider_reference(conn, "stripe", obj["id"])
    reference = payment_reference(conn, "refund", obj) or _payment_intent(obj)
    order_id = attempt.order_id if attempt else None
    if order_id is None and reference:
        order_id = conn.execute(
            select(payments.c.order_id).where(
                payments.c.provider == "stripe", payments.c.reference == reference
            )
        ).scalar()
    # the order's money checks wait from here to commit; the attempt is read again under it
    if order_id is not None:
        lock_order(conn, order_id)
    else:
        lock_key(conn, "refund", "stripe", obj["id"])
    if attempt is not None:
        attempt = get_attempt(conn, attempt.id)
    status = str(obj.get("status") or "pending")
    rest = attempt is None and releases.is_release(conn, obj, reference, api_version)
    if rest and reference is not None:
        status = RELEASED
        releases.note(conn, reference, obj, api_version, now)
    upsert_provider_refund(
        conn,
        provider="stripe",
        refund_id=obj["id"],
        payment_reference=reference,
        order_id=order_id,
        attempt_id=attempt.id if attempt else None,
        currency=normalize_currency(obj["currency"]),
        amount=int(obj["amount"]),
        status=status,
        now=now,
    )
    lowered = (  # a failed refund that a charge.refunded had counted gives its amount back
        status in stripe_refunded.GIVEN_BACK
        and reference is not None
        and stripe_refunded.settle(conn, reference, now)
    )
    if rest:
        return "a partial capture's released rest, no refund: recorded as released"
    if attempt is None:
        return "refund made outside this service recorded" + (
            "; refunded total lowered" if lowered else ""
        )
    target = stripe_refunded.REFUND_STATUS.get(status, AttemptStatus.SENT)
    if attempt.status == AttemptStatus.SUCCEEDED and target == AttemptStatus.FAILED:
        # Stripe fails some refunds after reporting them succeeded (e.g. a closed bank account):
        # the money came back to the merchant, so the amount is free again and a person looks
        transition(
            conn,
            attempt.id,
            AttemptStatus.FAILED,
            now,
            expect=(AttemptStatus.SUCCEEDED,),
            provider_reference=obj["id"],
            error=obj.get("failure_reason") or f"refund {status} after it had succeeded",
            note=f"stripe refund {status} after it had succeeded",
        )
        return "attempt failed after it had succeeded"
    if settle_from_provider(
        conn,
        attempt,
        target,
        now,
        provider_reference=obj["id"],
        error=obj.get("failure_reason") if target == AttemptStatus.FAILED else None,
        note=f"stripe refund {status}",
        livemode=livemode,
    ):
        return f"attempt {target}"
    return f"attempt already {attempt.status}"


def on_payment_failed(conn: Connection, obj: dict[str, Any], now: datetime) -> str:
    """Inbox only; ``after_event`` opens the follow-up under the policy."""
    return "payment failed"


HANDLERS: dict[str, Handler] = {  # charge.refunded and disputes: by ``apply``, with its time
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "charge.succeeded": on_charge_succeeded,
    "charge.captured": on_charge_succeeded,
    "refund.created": on_refund,
    "refund.updated": on_refund,
    "refund.failed": on_refund,
    "charge.refund.updated": on_refund,  # before API version 2024-10-28, refund.updated's place
    "payment_intent.payment_failed": on_payment_failed,
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.expired": lambda conn, obj, now: exchange_note(conn, obj, "expired"),
}

# the handlers that record the mode (``livemode``), called by ``apply`` with it
MODED: dict[str, Callable[..., str]] = {
    t: h for t, h in HANDLERS.items()
    if h in (on_payment_intent_succeeded, on_charge_succeeded, on_refund, on_checkout_completed)}


def apply(
    conn: Connection, type_: str, obj: dict[str, Any], payload: str, now: datetime,
    *, event_id: str,
) -> str:
    """What one event means for the ledger, in the caller's transaction; returns the note."""
    if type_ == "charge.refunded":  # the handlers that need the event's own time
        created = stripe_refunded.event_created(payload, now)
        return on_charge_refunded(conn, obj, now, event_id=event_id, created=created,
                                  api_version=stripe_refunded.event_api_version(payload),
                                  request_key=stripe_refunded.event_request_key(payload))
    if type_ in disputes.EVENTS:
        return disputes.apply(conn, payment_reference(conn, type_, obj), obj, event_id=event_id,
                              created=stripe_refunded.event_created(payload, now), now=now)
    # and those that record the mode Stripe made their object in: a payment captured in its
    # test mode took no real money (an exchange's Checkout Session's neither), a refund made
    # in it gave none back
    if type_ in releases.REFUND_EVENTS:  # which version says whether it may be a released rest
        return on_refund(conn, obj, now, livemode=event_livemode(obj, payload),
                         api_version=stripe_refunded.event_api_version(payload))
    if type_ in MODED:
        return MODED[type_](conn, obj, now, livemode=event_livemode(obj, payload))
    return HANDLERS[type_](conn, obj, now)


def event_livemode(obj: dict[str, Any], payload: str) -> bool | None:
    """The mode Stripe made the object in: its own ``livemode`` (a PaymentIntent and a Charge
    carry one), else the event's (a Refund carries none of its own; every event does); None
    when neither says."""
    said = obj.get("livemode")
    if not isinstance(said, bool):
        said = json.loads(payload).get("livemode")
    return said if isinstance(said, bool) else None


# --- the trouble an event wakes ------------------------------------------------------------------


def _stripe_time(obj: dict[str, Any]) -> datetime | None:
    created = obj.get("created")
    if isinstance(created, int) and not isinstance(created, bool):
        return datetime.fromtimestamp(created, UTC)
    return None


def after_event(
    conn: Connection, policy: policies.Policy, route: Route, type_: str, obj: dict[str, Any],
    now: datetime,
) -> Woken:
    """After ``apply``, in its transaction: detectors on success, follow-up on failure."""
    if type_ in SUCCEEDED:
        if type_ != "payment_intent.succeeded" and not obj.get("captured", True):
            return Woken()
        ref = payment_reference(conn, type_, obj)  # the row apply just wrote, by either name
        if ref is None:
            return Woken()
        order_id = adopt_payment(conn, "stripe", ref, _stripe_time(obj), now,
                                 clears=not follow_ups.stripe_test_mode(obj))
        if order_id is None:
            return Woken()
        return woken(correct(conn, policy, route, order_id, now, f"stripe:{type_}"))
    if type_ in disputes.EVENTS:  # money back with the merchant: a later payment may now be
        order_id = disputes.cleared_order(conn, payment_reference(conn, type_, obj))  # a duplicate
        if order_id is None:
            return Woken()
        return woken(correct(conn, policy, route, order_id, now, f"stripe:{type_}"))
    if type_ == "checkout.session.expired":
        row = exchange_of(conn, obj)
        if row is None or row.status != "awaiting_payment":
            return Woken()
        note, attempt_ids = fallback.fall_back(conn, policy, route, row, now)
        return Woken(note, attempt_ids)
    if type_ == FAILED:
        if follow_ups.stripe_test_mode(obj):
            return Woken("a failure in Stripe's test mode: no customer to chase, no follow-up")
        failed = follow_ups.FailedPayment.from_stripe(obj)
        if failed is None:
            return Woken("failed payment without an order id: no follow-up")
        return Woken(follow_ups.note_failed_payment(conn, policy, failed, now))
    return Woken()


def log_event(type_: str, event_id: str, note: str | None) -> None:
    log.info("stripe event %s: %s", type_, note, extra={"event_id": event_id})
