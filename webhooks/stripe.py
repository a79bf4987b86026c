"""``POST /webhooks/stripe``: verified on the raw body with any configured secret (rotation)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from webhooks.schemas import Amount, CurrencyChecked, verified_json

bp = Blueprint("stripe", __name__)
log = logging.getLogger("refunds.stripe")


class Loose(Schema):
    class Meta:
        unknown = INCLUDE  # Stripe objects carry many fields; the handlers read a few


class EventSchema(Loose):
    id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    type = fields.String(required=True)
    data = fields.Dict(required=True)


class MoneyObject(CurrencyChecked, Loose):
    id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    currency = fields.String(required=True)


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


class CheckoutSessionSchema(Loose):
    id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    amount_total = _amount()
    currency = fields.String(load_default=None, allow_none=True)
    payment_status = fields.String(load_default=None, allow_none=True)
    metadata = fields.Dict(load_default=dict, allow_none=True)


OBJECT_SCHEMAS: dict[str, type[Schema]] = {
    "payment_intent.succeeded": PaymentIntentSchema,
    "charge.succeeded": ChargeSchema,
    "charge.refunded": ChargeSchema,
    "refund.created": RefundSchema,
    "refund.updated": RefundSchema,
    "refund.failed": RefundSchema,
    "charge.dispute.created": DisputeSchema,
    "payment_intent.payment_failed": FailedPaymentIntentSchema,
    "checkout.session.completed": CheckoutSessionSchema,  # an exchange's difference paid
    "checkout.session.expired": CheckoutSessionSchema,  # … or never paid
}


@bp.post("/webhooks/stripe")
def receive() -> Response | tuple[Response, int]:
    state = current_app.extensions["refunds"]
    text, data = verified_json("Stripe-Signature", state.config.stripe_webhook_secrets)
    event = EventSchema().load(data)
    schema = OBJECT_SCHEMAS.get(event["type"])
    if schema is None:
        log.info(
            "stripe event type %s is not handled; ignored",
            event["type"],
            extra={"event_id": event["id"]},
        )
        return jsonify({"received": True, "ignored": event["type"]}), 200
    obj = event["data"].get("object")
    if not isinstance(obj, dict):
        raise ValidationError({"data": {"object": ["must be an object"]}})
    try:
        loaded = schema().load(obj)
    except ValidationError as exc:
        raise ValidationError({"data": {"object": exc.messages}}) from None
    ack = state.service.stripe_event(
        event["id"], event["type"], text, {**obj, **loaded}
    )
    return jsonify({"received": True, "duplicate": ack.duplicate, **ack.detail}), 200
