"""A JSON integer longer than Python reads (more than 4300 digits: ``int()`` refuses it) is a
``malformed_json`` refusal on every endpoint that parses JSON, never a 500; nothing is recorded.
(Saleor's and EasyPost's are in their own tests.)"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import stripe

from refunds_plugin.finance.tokens import create_token
from tests.fakes import STRIPE_SECRETS, Harness, order_paid

NOTHING = {"events": 0, "decisions": 0, "refund_attempts": 0, "ledger_entries": 0}
HUGE = b"9" * 4301


def _with_huge_number(payload: dict[str, object]) -> bytes:
    return json.dumps({**payload, "n": 0}).encode().replace(b'"n": 0', b'"n": ' + HUGE)


def test_a_storefront_body_with_a_4301_digit_integer_is_400_malformed_json(
    harness: Harness,
) -> None:
    resp = harness.post_storefront(_with_huge_number(order_paid()))

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "malformed_json",
        "message": "body is not valid JSON: a number has more digits than 4300"}})
    assert harness.money_rows() == NOTHING


def test_a_stripe_body_with_a_4301_digit_integer_is_refused_as_malformed_json(
    harness: Harness,
) -> None:
    text = _with_huge_number({"id": "evt_1", "type": "payment_intent.succeeded",
                              "data": {"object": {}}}).decode()
    header = stripe.WebhookSignature.generate_signature_header(
        text, STRIPE_SECRETS[0], int(harness.clock.timestamp()))

    resp = harness.client().post("/webhooks/stripe", data=text, headers={
        "Stripe-Signature": header, "Content-Type": "application/json"})

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "malformed_json",
        "message": "body is not valid JSON: a number has more digits than 4300"}})
    assert harness.money_rows() == NOTHING


@pytest.mark.parametrize("path", ["/api/reviews/d-1", "/api/exchanges/d-1/shipped"])
def test_an_api_body_with_a_4301_digit_integer_is_400_malformed_json(
    harness: Harness, now: datetime, path: str,
) -> None:
    token = create_token(harness.runtime.engine, "Ada", "admin", now).secret

    resp = harness.client().post(path, data=b'{"action": "approve", "n": ' + HUGE + b"}",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})

    assert (resp.status_code, resp.get_json()["error"]["code"]) == (400, "malformed_json")
    assert harness.money_rows() == NOTHING
