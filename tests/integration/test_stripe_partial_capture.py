"""A partial capture's uncaptured rest is no refund: on Stripe API versions before 2025-03-31
Stripe releases it as a Refund and counts it in ``amount_refunded``, but the customer paid only
what was captured, and all of that can still be refunded."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import provider_refunds, refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

AUTHORISED = 5500  # 2 mugs × 2500 + 500 shipping, authorised on pi_123 (charge ch_123)
CAPTURED = 3000  # the merchant captured 30.00 of it (one mug was out of stock, say)
ONE_MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]
T0 = 1764000000


def event(event_id: str, type_: str, obj: dict[str, Any], created: int,
          api_version: str) -> dict[str, Any]:
    return {**stripe_event(event_id, type_, obj), "created": created, "api_version": api_version}


def captured_in_part(harness: Harness, api_version: str, amount_refunded: int) -> None:
    """payment_intent.succeeded for 30.00 of 55.00, then the charge.refunded Stripe sends."""
    intent = {"id": "pi_123", "object": "payment_intent", "amount": AUTHORISED,
              "amount_received": CAPTURED, "currency": "usd", "latest_charge": "ch_123",
              "status": "succeeded", "livemode": True, "metadata": {"order_id": "1001"}}
    charge = {"id": "ch_123", "object": "charge", "amount": AUTHORISED,
              "amount_captured": CAPTURED, "amount_refunded": amount_refunded,
              "captured": True, "refunded": False, "currency": "usd", "livemode": True,
              "payment_intent": "pi_123", "metadata": {"order_id": "1001"}}
    for sent in (event("evt_pi", "payment_intent.succeeded", intent, T0 + 1, api_version),
                 event("evt_ch", "charge.refunded", charge, T0 + 2, api_version)):
        assert harness.post_stripe(sent).status_code == 200


def refunded_and_refundable(harness: Harness) -> tuple[int, int]:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, "1001")
    return pay.refunded, pay.refundable


def test_the_released_rest_of_a_partial_capture_is_not_counted_as_refunded(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    assert harness.post_storefront(order_paid()).status_code == 200
    # API 2024-06-20: Stripe's charge counts the released 25.00 in amount_refunded
    captured_in_part(harness, "2024-06-20", AUTHORISED - CAPTURED)

    assert refunded_and_refundable(harness) == (0, CAPTURED)
    answer = harness.post_storefront(return_requested(lines=ONE_MUG)).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["refund_amount"]) == ("approve", 2500)
    assert [c.params["amount"] for c in fake_stripe.calls_to("POST", "/v1/refunds")] == ["2500"]
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.amount) == ("succeeded", 2500)


@pytest.mark.parametrize("api_version", ["2025-03-31.basil", "2026-10-28.endive"])
def test_on_later_api_versions_amount_refunded_is_all_refunds(
    harness: Harness, api_version: str
) -> None:
    """From 2025-03-31 the released rest is not in ``amount_refunded``: 25.00 there is a real
    refund of 25.00, and only 5.00 is left."""
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, api_version, 2500)

    assert refunded_and_refundable(harness) == (2500, CAPTURED - 2500)


def test_a_refund_after_the_release_counts_only_itself(harness: Harness) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, "2024-06-20", AUTHORISED - CAPTURED)
    charge = {"id": "ch_123", "object": "charge", "amount": AUTHORISED,
              "amount_captured": CAPTURED, "amount_refunded": AUTHORISED - CAPTURED + 1000,
              "captured": True, "currency": "usd", "payment_intent": "pi_123"}
    assert harness.post_stripe(
        event("evt_ch_2", "charge.refunded", charge, T0 + 9, "2024-06-20")).status_code == 200

    assert refunded_and_refundable(harness) == (1000, CAPTURED - 1000)


def released_refund(refund_id: str = "re_release", amount: int = AUTHORISED - CAPTURED,
                    created: int = T0 + 1) -> dict[str, Any]:
    """The Refund Stripe made of the uncaptured rest, as refund.created carries it."""
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": "usd",
            "charge": "ch_123", "payment_intent": "pi_123", "status": "succeeded",
            "reason": None, "metadata": {}, "created": created}


def provider_refund_rows(harness: Harness) -> list[tuple[Any, ...]]:
    return sorted((r.refund_id, r.attempt_id, r.amount, r.status)
                  for r in harness.rows(provider_refunds))


@pytest.mark.parametrize("refund_first", [False, True])
def test_the_refund_stripe_sends_for_the_released_rest_is_no_refund(
    harness: Harness, fake_stripe: FakeStripe, refund_first: bool
) -> None:
    """API 2024-11-20 (between 2024-10-28, when refund.created began to fire for every refund,
    and 2025-03-31, when a partial capture stopped making one): the 25.00 Refund of the
    released rest is recorded as ``released``, not as a refund made outside, whichever event
    comes first; all 30.00 captured can still be refunded."""
    version = "2024-11-20.acacia"
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    assert harness.post_storefront(order_paid()).status_code == 200
    refund = event("evt_re", "refund.created", released_refund(), T0 + 1, version)
    if refund_first:
        assert harness.post_stripe(refund).status_code == 200
    captured_in_part(harness, version, AUTHORISED - CAPTURED)
    if not refund_first:
        assert harness.post_stripe(refund).status_code == 200

    assert refunded_and_refundable(harness) == (0, CAPTURED)
    assert provider_refund_rows(harness) == [("re_release", None, 2500, "released")]
    answer = harness.post_storefront(return_requested(lines=ONE_MUG)).json
    harness.drain()
    assert answer is not None
    assert (answer["outcome"], answer["refund_amount"]) == ("approve", 2500)
    assert [c.params["amount"] for c in fake_stripe.calls_to("POST", "/v1/refunds")] == ["2500"]


def test_a_later_refund_of_the_same_amount_is_a_refund_made_outside(harness: Harness) -> None:
    """Only one Refund is the released rest: another 25.00 refund (staff, in the Dashboard)
    on the same payment is money given back, and only 5.00 is left to refund."""
    version = "2024-11-20.acacia"
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, version, AUTHORISED - CAPTURED)
    for n, refund_id in enumerate(("re_release", "re_staff")):
        sent = event(f"evt_re_{n}", "refund.created",
                     released_refund(refund_id, created=T0 + 5 + n), T0 + 5 + n, version)
        assert harness.post_stripe(sent).status_code == 200

    assert provider_refund_rows(harness) == [("re_release", None, 2500, "released"),
                                             ("re_staff", None, 2500, "succeeded")]
    assert refunded_and_refundable(harness) == (2500, CAPTURED - 2500)


@pytest.mark.parametrize("api_version", ["2025-03-31.basil", None])
def test_without_a_version_that_releases_by_refund_a_refund_is_a_refund(
    harness: Harness, api_version: str | None
) -> None:
    """From 2025-03-31 a partial capture makes no Refund, and an event that does not say its
    version is not guessed at: a 25.00 refund.created is 25.00 given back outside."""
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, "2024-11-20.acacia", AUTHORISED - CAPTURED)
    sent = event("evt_re", "refund.created", released_refund(), T0 + 5, "x")
    if api_version is None:
        del sent["api_version"]
    else:
        sent["api_version"] = api_version
    assert harness.post_stripe(sent).status_code == 200

    assert provider_refund_rows(harness) == [("re_release", None, 2500, "succeeded")]
    assert refunded_and_refundable(harness) == (2500, CAPTURED - 2500)


def test_reconcile_finds_the_released_rest_where_stripe_lists_it(harness: Harness) -> None:
    """Stripe lists the released rest's Refund as succeeded; the ledger's ``released`` row is
    that Refund: no mismatch."""
    from datetime import UTC, datetime

    from refunds_plugin.finance.reconcile import ProviderRefund, reconcile

    version = "2024-11-20.acacia"
    assert harness.post_storefront(order_paid()).status_code == 200
    captured_in_part(harness, version, AUTHORISED - CAPTURED)
    sent = event("evt_re", "refund.created", released_refund(), T0 + 1, version)
    assert harness.post_stripe(sent).status_code == 200

    listed = [ProviderRefund("re_release", 2500, "usd", "succeeded", "pi_123", T0 + 1)]
    assert reconcile(harness.runtime.engine, iter(listed), datetime(2000, 1, 1, tzinfo=UTC)) == []
