"""A Stripe event's ``created`` must be a time: a whole number of seconds, not negative, and not
more than ``CLOCK_SKEW`` ahead of the service's clock. One from the far future would make every
later ``charge.refunded`` look older and freeze what Stripe says is refunded. Its object's
``created`` (Stripe's own time for the refund or charge) must be a whole number in range. A
refused event records nothing and is answered 400, as the HTTP contract says."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.intake.storefront import CLOCK_SKEW
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import events, payments
from tests.fakes import Harness, order_paid, stripe_event

CAPTURED = 5500


def charge_refunded(event_id: str, amount_refunded: int, created: Any) -> dict[str, Any]:
    return {**stripe_event(event_id, "charge.refunded", {
        "id": "ch_123", "object": "charge", "amount": CAPTURED, "amount_captured": CAPTURED,
        "amount_refunded": amount_refunded, "refunded": amount_refunded == CAPTURED,
        "currency": "usd", "payment_intent": "pi_123"}), "created": created}


def payment(harness: Harness) -> PaymentFacts:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, "1001")
    return pay


def _now(harness: Harness) -> int:
    return int(harness.clock.timestamp())


@pytest.mark.parametrize(("created", "problem"), [
    pytest.param(10**30, "created: Must be greater than or equal to 0 and less than or equal "
                 "to 100000000000.", id="10**30"),
    pytest.param("abc", "created: Not a valid integer.", id="text"),
    pytest.param(1.5, "created: Not a valid integer.", id="fraction"),
    pytest.param(-5, "created: Must be greater than or equal to 0 and less than or equal to "
                 "100000000000.", id="negative"),
])
def test_a_stripe_event_whose_created_is_no_time_is_refused_and_records_nothing(
    harness: Harness, created: Any, problem: str,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    before = (harness.money_rows(), harness.rows(payments))

    resp = harness.post_stripe(charge_refunded("evt_ch_bad", 3000, created))

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "invalid_payload", "message": problem, "fields": [problem]}})
    assert (harness.money_rows(), harness.rows(payments)) == before
    assert [e.event_id for e in harness.rows(events)] == ["evt_paid_1001"]


def test_a_created_past_the_clock_skew_is_refused_and_one_within_it_still_counts(
    harness: Harness,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    at_most = _now(harness) + int(CLOCK_SKEW.total_seconds())

    refused = harness.post_stripe(charge_refunded("evt_ch_future", 1000, at_most + 1))
    counted = harness.post_stripe(charge_refunded("evt_ch_skew", 3000, at_most))

    problem = (f"created: {at_most + 1} is in the future: later than the service's clock "
               "(2026-11-24T12:00:00+00:00) by more than 5 minutes")
    assert (refused.status_code, refused.get_json()) == (400, {"error": {
        "code": "invalid_payload", "message": problem, "fields": [problem]}})
    assert counted.status_code == 200 and "refused" not in counted.get_json()
    assert (payment(harness).refunded, payment(harness).refundable) == (3000, 2500)
    assert [e.event_id for e in harness.rows(events)] == ["evt_paid_1001", "evt_ch_skew"]


def test_an_objects_created_far_ahead_is_refused_too(harness: Harness) -> None:
    obj = {"id": "pi_9", "object": "payment_intent", "amount": 100, "amount_received": 100,
           "currency": "usd", "created": 10**30, "metadata": {"order_id": "9"}}

    resp = harness.post_stripe(stripe_event("evt_pi_9", "payment_intent.succeeded", obj))

    problem = ("data.object.created: Must be greater than or equal to 0 and less than or "
               "equal to 100000000000.")
    assert (resp.status_code, resp.get_json()["error"]["fields"]) == (400, [problem])
    assert harness.count(payments) == 0 and harness.count(events) == 0
