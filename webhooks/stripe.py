"""``POST /webhooks/stripe``: verified on the raw body with any configured secret (rotation).

A verified event whose content we cannot take (a field of the wrong type, text the ledger cannot
store, a ``created`` that is no time) is answered 400 ``{"error": {"code", "message", "fields"}}``
as the HTTP contract says for a malformed body, logged at WARNING with the event's id, nothing
recorded. Stripe never sends such an event; if one came, its retries (for up to three days) are
refused the same way and the WARNING lines say which event to look at.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from refunds_plugin.errors import PayloadError
from refunds_plugin.intake.storefront import CLOCK_SKEW
from refunds_plugin.ledger import text
from refunds_plugin.stripe.disputes import EVENTS as DISPUTE_EVENTS
from webhooks.errors import flatten
from webhooks.schemas import (
    MAX_UNIX_SECONDS,
    Amount,
    CurrencyChecked,
    Id,
    Storable,
    verified_json,
)

bp = Blueprint("stripe", __name__)
log = logging.getLogger("refunds.stripe")

class Loose(Schema):
    class Meta:
        unknown = INCLUDE  # Stripe objects carry many fields; the handlers read a few


def _unix_time() -> fields.Integer:
    """Seconds since 1970 (Stripe's ``created``): a whole number, not negative, not absurd;
    ``too_late`` refuses one ahead of the service's clock."""
    return fields.Integer(strict=True, allow_none=True,
                          validate=validate.Range(min=0, max=MAX_UNIX_SECONDS))


class _IfText(Storable):
    """An id Stripe sends as a string or as the expanded object: the string is checked."""

    def __call__(self, value: Any) -> Any:
        return super().__call__(value) if isinstance(value, str) else value


def _reference(limit: int) -> fields.Raw:
    return fields.Raw(allow_none=True, validate=_IfText(limit))


class EventSchema(Loose):
    id = Id(text.EVENT_ID)
    type = fields.String(required=True)
    created = _unix_time()
    data = fields.Dict(required=True)


class MetadataSchema(Loose):
    order_id = fields.String(allow_none=True, validate=Storable(text.ORDER_ID))


class MoneyObject(CurrencyChecked, Loose):
    id = Id(text.PAYMENT_REFERENCE)
    currency = fields.String(required=True)
    created = _unix_time()
    metadata = fields.Nested(MetadataSchema, allow_none=True)
    customer = _reference(text.CUSTOMER_ID)
    payment_intent = _reference(text.PAYMENT_REFERENCE)
    charge = _reference(text.CHARGE_ID)
    latest_charge = _reference(text.CHARGE_ID)
    receipt_email = fields.String(allow_none=True, validate=Storable(text.EMAIL))


def _amount(required: bool = False) -> fields.Integer:
    if required:
        return fields.Integer(strict=True, required=True, validate=Amount)
    return fields.Integer(strict=True, load_default=None, allow_none=True, validate=Amount)


class PaymentIntentSchema(MoneyObject):
    amount_received = _amount(required=True)


class FailedPaymentIntentSchema(MoneyObject):
    amount = _amount(required=True)  # what was attempted; amount_received is 0 or absent
    amount_received = _amount()


class ChargeSchema(MoneyObject):
    amount = _amount(required=True)
    amount_captured = _amount()
    amount_refunded = _amount()


class RefundSchema(MoneyObject):
    amount = _amount(required=True)
    status = fields.String(load_default="pending", allow_none=True)


class DisputeSchema(Loose):
    id = fields.String(required=True)
    charge = fields.String(required=True)
    status = fields.String(load_default=None, allow_none=True)
    amount = _amount()


class CheckoutSessionSchema(Loose):
    id = Id(text.PAYMENT_REFERENCE)
    amount_total = _amount()
    currency = fields.String(load_default=None, allow_none=True)
    payment_status = fields.String(load_default=None, allow_none=True)
    metadata = fields.Dict(load_default=dict, allow_none=True)


OBJECT_SCHEMAS: dict[str, type[Schema]] = {
    "payment_intent.succeeded": PaymentIntentSchema,
    "charge.succeeded": ChargeSchema,
    "charge.captured": ChargeSchema,  # one authorised first, captured later
    "charge.refunded": ChargeSchema,
    "refund.created": RefundSchema,
    "refund.updated": RefundSchema,
    "refund.failed": RefundSchema,
    # a charge's refund changing status, as endpoints on API versions before 2024-10-28 hear
    # it (``refund.*`` then fire only for refunds without a charge): the same Refund object
    "charge.refund.updated": RefundSchema,
    # a dispute's every change carries the dispute with its status (``stripe.disputes``)
    **dict.fromkeys(DISPUTE_EVENTS, DisputeSchema),
    "payment_intent.payment_failed": FailedPaymentIntentSchema,
    "checkout.session.completed": CheckoutSessionSchema,  # an exchange's difference paid
    "checkout.session.expired": CheckoutSessionSchema,  # … or never paid
}


def too_late(path: str, created: int | None, now: datetime) -> None:
    """ValidationError at ``path`` for a ``created`` more than ``CLOCK_SKEW`` after ``now``:
    a newer-than-now event would make every later one look older (a refunded total frozen)."""
    if created is not None and created > (now + CLOCK_SKEW).timestamp():
        ahead = int(CLOCK_SKEW.total_seconds() // 60)
        raise ValidationError({path: [f"{created} is in the future: later than the service's "
                                      f"clock ({now.isoformat()}) by more than {ahead} minutes"]})


def _read(data: dict[str, Any], now: datetime) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event and its loaded ``data.object`` (None: a type we do not handle)."""
    event = EventSchema().load(data)
    too_late("created", event.get("created"), now)
    schema = OBJECT_SCHEMAS.get(event["type"])
    if schema is None:
        return event, None
    obj = event["data"].get("object")
    if not isinstance(obj, dict):
        raise ValidationError({"data": {"object": ["must be an object"]}})
    try:
        # the object's ``created`` is Stripe's own time for it (a refund made minutes ago, a
        # charge days ago): its range is checked by the schema; only the event's ``created``
        # orders events (``stripe.refunded_total``), so only it must not be ahead of our clock
        loaded = schema().load(obj)
    except ValidationError as exc:
        raise ValidationError({"data": {"object": exc.messages}}) from None
    return event, {**obj, **loaded}


def _refused(exc: ValidationError | PayloadError, event_id: Any = None
             ) -> tuple[Response, int]:
    """400 for a signed event we will never take (see the module's docstring), logged."""
    if isinstance(exc, ValidationError):
        problems = flatten(exc.messages)
        refusal: dict[str, Any] = {"code": "invalid_payload", "message": "; ".join(problems),
                                "fields": problems}
    else:
        refusal = {"code": exc.code, "message": exc.message}
    # the id as the sender wrote it, escaped: it may be what was refused (a newline in it)
    shown = str(event_id)[:255].encode("unicode_escape").decode("ascii") if event_id else "-"
    log.warning("stripe event %s refused, nothing recorded (%s): %s", shown, refusal["code"],
                refusal["message"][:1000])
    return jsonify({"error": refusal}), 400


@bp.post("/webhooks/stripe")
def receive() -> Response | tuple[Response, int]:
    state = current_app.extensions["refunds"]
    try:  # a SignatureError is no PayloadError: it is still a 400
        text, data = verified_json("Stripe-Signature", state.config.stripe_webhook_secrets)
    except ValidationError as exc:  # a NUL somewhere: the body was read
        return _refused(exc, exc.data.get("id") if isinstance(exc.data, dict) else None)
    except PayloadError as exc:
        return _refused(exc)
    try:
        event, obj = _read(data, state.service.clock())
    except (ValidationError, PayloadError) as exc:
        return _refused(exc, data.get("id"))
    if obj is None:
        log.info(
            "stripe event type %s is not handled; ignored",
            event["type"],
            extra={"event_id": event["id"]},
        )
        return jsonify({"received": True, "ignored": event["type"]}), 200
    ack = state.service.stripe_event(event["id"], event["type"], text, obj)
    return jsonify({"received": True, "duplicate": ack.duplicate, **ack.detail}), 200
