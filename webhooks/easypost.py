"""``POST /webhooks/easypost``: EasyPost's tracker updates, verified with its HMAC
(``X-Hmac-Signature: hmac-sha256-hex=…`` over the raw body) by the SDK's own validator, never
trusted for an unknown tracking code. A forged, stale or replayed event is a 400 and nothing is
recorded: an event id is "seen" only once its first delivery was recorded (committed), so
EasyPost's retry of a delivery that failed on our side is a first delivery, and any later copy
of a recorded one is a replay (``replayed_event``)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify, request

from refunds_plugin.errors import PayloadError, SignatureError
from refunds_plugin.shipping import tracking
from refunds_plugin.shipping.carriers.easypost import verify_webhook
from webhooks.schemas import parse_json

bp = Blueprint("easypost", __name__)


@bp.post("/webhooks/easypost")
def receive() -> Response:
    state = current_app.extensions["refunds"]
    body = request.get_data(cache=False)
    # the signature first: a forger learns nothing about the body's shape
    event = verify_webhook(body, request.headers, state.config.easypost_webhook_secret)
    parse_json(body)  # then the strict parse the other webhooks use (no NaN, an object)
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise PayloadError("the event has no id", code="malformed")
    age = state.service.clock() - tracking.created_at(event)
    if age > timedelta(seconds=state.config.easypost_webhook_max_age_s):
        raise SignatureError(f"the event was made {int(age.total_seconds())} s ago, more than "
                             f"the {state.config.easypost_webhook_max_age_s} s allowed: stale "
                             "or replayed", code="stale_event")
    ack = state.service.easypost_event(event_id, body.decode("utf-8"), event)
    if ack.duplicate:  # the inbox refused it: nothing was written
        raise SignatureError(f"event {event_id} was received and recorded before: a replay",
                             code="replayed_event")
    return jsonify({"received": True, "duplicate": False, **ack.detail})
