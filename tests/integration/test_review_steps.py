"""A person approving a review cannot choose an amount the provider will refuse: Stripe takes
KWD (and the other three-decimal currencies) only in steps of 0.010, so 20.005 KWD is refused
at once, naming the step and the two nearest amounts, with nothing recorded (it was accepted,
and the attempt then failed at Stripe as ``amount_off_step``)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, ledger_entries, refund_attempts, reviews
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.finance_scene import csrf
from tests.fakes.stripe_api import FakeStripe

POLICY = """\
name: kwd-reviewed
currency: KWD
window: {days: 365, start: payment}
resolution: {default: refund, allow: [credit, refund]}
limits: {auto_approve_per_request: "10.000"}
"""
STEP = "KWD {} through Stripe {} in steps of 0.010 KWD: 20.000 or 20.010"


@dataclass
class Reviewed:
    h: Harness
    decision_id: str
    admin: str  # an admin's token
    client: FlaskClient


@pytest.fixture
def reviewed(policy_harness: Callable[[str], Harness], fake_stripe: FakeStripe) -> Reviewed:
    """A 30.000 KWD lamp paid on Stripe, its return above the limit: waiting for a person."""
    h = policy_harness(POLICY)
    fake_stripe.add_payment_intent(30000, "KWD", "pi_kwd")
    lines = [{"id": "l1", "sku": "LAMP-1", "name": "Lamp", "quantity": 1, "unit_amount": 30000,
              "tags": []}]
    assert h.post_storefront(order_paid(currency="KWD", lines=lines, shipping=0,
                                        reference="pi_kwd")).status_code == 200
    answer = h.post_storefront(return_requested())
    assert (answer.status_code, answer.json["outcome"]) == (201, "review")
    admin = create_token(h.runtime.engine, "Ada", "admin", h.clock()).secret
    return Reviewed(h, answer.json["decision_id"], admin, h.client())


def recorded(h: Harness) -> dict[str, Any]:
    # sorted: PostgreSQL returns rows in heap order, which the sealer's hash UPDATE changes
    got: dict[str, Any] = {t.name: sorted(tuple(r) for r in h.rows(t))
                           for t in (decisions, reviews, refund_attempts)}
    got["journal"] = sorted((e.seq, e.entry_type, e.body) for e in h.rows(ledger_entries))
    return got


def test_an_approval_off_stripes_step_is_refused_naming_the_step_and_records_nothing(
    reviewed: Reviewed, fake_stripe: FakeStripe
) -> None:
    h = reviewed.h

    def approve(**change: Any) -> Any:
        return reviewed.client.post(f"/api/reviews/{reviewed.decision_id}",
                                    json={"action": "approve", "note": "checked", **change},
                                    headers={"Authorization": f"Bearer {reviewed.admin}"})

    before = recorded(h)
    refund = approve(amount=20005)
    credit = approve(amount=20005, resolution="credit")

    assert (refund.status_code, refund.json["error"]) == (400, {
        "code": "amount_off_step", "message": STEP.format("refunds", "go")})
    assert (credit.status_code, credit.json["error"]) == (400, {
        "code": "amount_off_step", "message": STEP.format("store credit", "goes")})
    assert recorded(h) == before
    assert [r.status for r in h.rows(reviews)] == ["open"]
    h.drain()
    assert fake_stripe.refunds == []

    # the amount on the step goes through, and Stripe is asked for exactly it
    assert approve(amount=20010).status_code == 200
    h.drain()
    assert [(a.kind, a.amount, a.currency, a.status) for a in h.rows(refund_attempts)] == [
        ("refund", 20010, "KWD", "succeeded")]
    assert [(r["payment_intent"], r["amount"]) for r in fake_stripe.refunds] == [
        ("pi_kwd", 20010)]


def test_the_review_form_says_the_step_and_records_nothing(
    reviewed: Reviewed, fake_stripe: FakeStripe
) -> None:
    h, client = reviewed.h, reviewed.client
    assert client.post("/finance/login", data={
        "token": reviewed.admin, "csrf_token": csrf(client, "/finance/login")}).status_code == 303
    before = recorded(h)

    resp = client.post(f"/finance/reviews/{reviewed.decision_id}", data={
        "action": "approve", "note": "checked", "amount": "20.005",
        "csrf_token": csrf(client, "/finance/reviews")})

    assert resp.status_code == 400
    assert (f"Nothing was recorded: {STEP.format('refunds', 'go')}."
            in html.unescape(resp.get_data(as_text=True)))
    assert recorded(h) == before
    assert fake_stripe.refunds == []
