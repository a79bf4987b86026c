"""Every kind of message the outbox carries, its channel, and what its context must hold.

Mail kinds are snake_case and rendered from ``templates/mail/<kind>.html``; event kinds are the
dotted names the merchant's systems receive (Standard Webhooks' ``type``). A kind's ``needs``
are the context keys its template or payload reads; ``enqueue`` refuses a context without them,
so a cause wired later (issue 14's receiving, the withdrawal function) fails in its own tests
rather than in a customer's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass

MERCHANT = "merchant"  # the recipient of every event: REFUNDS_OUTBOUND_URL at delivery time

_DECISION = ("decision_id", "order_id", "order_number", "currency", "amount", "refund_amount",
             "credit_amount", "explanation", "items")
_EXCHANGE = ("decision_id", "order_id", "currency", "status", "ship_on", "lines")
_ATTEMPT = ("attempt_id", "decision_id", "order_id", "order_number", "kind", "currency", "amount")


@dataclass(frozen=True)
class Kind:
    name: str
    channel: str  # mail | event
    needs: tuple[str, ...]
    about: str  # one line for finance and the docs


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("request_received", "mail", _DECISION, "a return request was received (status link)"),
    Kind("approved", "mail", (*_DECISION, "return_required"),
         "approved: how to send it back (issue 14's instructions, label, QR) or keep it; an "
         "exchange's payment link for a dearer item's difference"),
    Kind("in_review", "mail", _DECISION, "a person will look at the request"),
    Kind("declined", "mail", _DECISION,
         "declined: the policy's reasons, or that a person declined it; the reviewer's note"),
    Kind("return_reminder", "mail", (*_DECISION, "return_by"),
         "the item is not back yet: send it by this date"),
    Kind("label_ready", "mail", (*_DECISION, "label_url", "return_by"),
         "the prepaid return label, bought after the approval"),
    Kind("return_expired", "mail", (*_DECISION, "return_by"),
         "the item was not sent back in time: the return is closed"),
    Kind("item_received", "mail", (*_DECISION, "received_at"),
         "the returned item arrived at the shop"),
    Kind("parcel_in_transit", "mail", (*_DECISION, "status"),
         "the carrier's first scan: the parcel is on its way to the shop; what that lets go"),
    Kind("parcel_delivered", "mail", (*_DECISION, "status"),
         "the carrier delivered the parcel to the shop: what that lets go, what waits for "
         "the check"),
    Kind("parcel_problem", "mail", (*_DECISION, "status"),
         "the carrier failed, or sends the parcel back to the customer: what to do"),
    Kind("exchange_unavailable", "mail", (*_DECISION, "unavailable"),
         "the exchange's new item went out of stock before it shipped: the refund or store "
         "credit that comes instead"),
    Kind("exchange_original_due", "mail",
         (*_DECISION, "return_by", "sent", "due_amount", "payment_url"),
         "an instant exchange's original did not arrive by the return-by date: the link to pay "
         "its value (sending it back still settles it)"),
    Kind("refund_sent", "mail", _ATTEMPT, "the refund is on its way to the original payment"),
    Kind("credit_issued", "mail", (*_ATTEMPT, "credit_code"), "store credit, with its code"),
    Kind("refund_failed", "mail", _ATTEMPT, "the refund failed, and what happens next"),
    Kind("withdrawal_receipt", "mail",
         ("withdrawal_id", "name", "order_id", "order_number", "lines", "statement",
          "received_at"),
         "the EU withdrawal receipt: the statement and its time of receipt, to the second"),
    Kind("return.decided", "event", ("decision_id", "order_id", "outcome"),
         "a return (or a correction) was decided"),
    Kind("return.reviewed", "event", ("decision_id", "order_id", "status"),
         "a person approved or declined a review"),
    Kind("return.received", "event", ("decision_id", "order_id", "received_at"),
         "the returned item arrived"),
    Kind("return.in_transit", "event", ("decision_id", "order_id", "status"),
         "the carrier scanned the returned parcel for the first time"),
    Kind("return.delivered", "event", ("decision_id", "order_id", "status"),
         "the carrier delivered the returned parcel to the shop"),
    Kind("return.expired", "event", ("decision_id", "order_id"),
         "the item was not sent back in time"),
    Kind("refund.succeeded", "event", _ATTEMPT, "a refund settled"),
    Kind("refund.failed", "event", _ATTEMPT, "a refund (or store credit) failed"),
    Kind("credit.issued", "event", _ATTEMPT, "store credit was issued"),
    Kind("withdrawal.received", "event", ("withdrawal_id", "order_id", "received_at"),
         "an EU withdrawal statement was received"),
    Kind("exchange.approved", "event", _EXCHANGE,
         "an exchange was approved: the new lines, the difference and how it is settled"),
    Kind("exchange.ready_to_ship", "event", _EXCHANGE,
         "the exchange's new items may ship (its ship_on was reached, the difference paid)"),
    Kind("exchange.original_due", "event", (*_EXCHANGE, "original_due"),
         "an instant exchange's original was not returned in time: its value is owed"),
)}

MAIL_KINDS = tuple(k for k, v in KINDS.items() if v.channel == "mail")
EVENT_KINDS = tuple(k for k, v in KINDS.items() if v.channel == "event")


def kind(name: str) -> Kind:
    found = KINDS.get(name)
    if found is None:
        raise ValueError(f"unknown message kind {name!r}: one of {', '.join(KINDS)}")
    return found
