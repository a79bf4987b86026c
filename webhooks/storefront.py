"""``POST /webhooks/storefront``: any storefront, signed like Stripe with the merchant's secret."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, ValidationError

from refunds_plugin.intake.returns_page import decision_locale
from refunds_plugin.intake.service import Service
from webhooks.language import answer_locale
from webhooks.schemas import (
    EnvelopeSchema,
    OrderDataSchema,
    ReturnDataSchema,
    SoldOutDataSchema,
    verified_json,
)

bp = Blueprint("storefront", __name__)
log = logging.getLogger("refunds.storefront")

HEADER = "Refunds-Signature"
# built once: a marshmallow Schema holds no per-load state, and building one per request (with
# its nested schemas) cost more than loading the body
ENVELOPE, ORDER_DATA, RETURN_DATA = EnvelopeSchema(), OrderDataSchema(), ReturnDataSchema()
SOLD_OUT = SoldOutDataSchema()


def _service() -> Service:
    return current_app.extensions["refunds"].service


def _load(schema: Schema, data: dict[str, Any]) -> Any:
    """Load the envelope's ``data`` so that error paths name the field from the top of the body."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationError({"data": exc.messages}) from None


@bp.post("/webhooks/storefront")
def receive() -> Response | tuple[Response, int]:
    state = current_app.extensions["refunds"]
    text, data = verified_json(HEADER, [state.config.storefront_secret])
    envelope = ENVELOPE.load(data)
    if envelope["type"] == "order.paid":
        order, payment = _load(ORDER_DATA, envelope["data"])["order"]
        ack = _service().order_paid(
            "storefront", envelope["id"], envelope["type"], text, order, payment
        )
        reply: dict[str, Any] = {"received": True, "duplicate": ack.duplicate}
        if not ack.duplicate:  # a known order sent with other content says what it changed
            reply["updated"] = "changed" in ack.detail
            reply.update({k: ack.detail[k] for k in ("changed", "note") if k in ack.detail})
        return jsonify(reply), 200
    if envelope["type"] == "return.requested":
        req, asked_in = _load(RETURN_DATA, envelope["data"])["return_"]
        answer = _service().return_requested(
            "storefront", envelope["id"], envelope["type"], text, req, locale=asked_in
        )
        answer = _service().answer_with_code(answer)
        # a return decided before is answered in its emails' language (the one it was first
        # asked in, else its order's), whatever this sending names
        chosen = decision_locale(_service().engine, answer.recorded.id) if answer.duplicate \
            else asked_in
        locale = answer_locale(chosen, answer.locale)
        return jsonify(answer.to_json(locale)), 200 if answer.duplicate else 201
    if envelope["type"] == "exchange.out_of_stock":
        sold_out = _load(SOLD_OUT, envelope["data"])["exchange"]
        ack = _service().exchange_out_of_stock(envelope["id"], text, sold_out["decision_id"],
                                               sold_out["skus"])
        row = _service().exchange_of(sold_out["decision_id"])
        return jsonify({"received": True, "duplicate": ack.duplicate, **ack.detail,
                        "exchange": {"status": row.status if row else None,
                                     "fallback_decision_id":
                                         row.fallback_decision_id if row else None}}), 200
    log.info(
        "storefront event type %s is not handled; ignored",
        envelope["type"],
        extra={"event_id": envelope["id"]},
    )
    return jsonify({"received": True, "ignored": envelope["type"]}), 200
