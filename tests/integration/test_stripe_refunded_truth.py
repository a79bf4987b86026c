"""What Stripe reports refunded follows Stripe: a refund that fails after it was counted frees its
amount again, and an older event delivered late never overwrites a newer one."""

from __future__ import annotations

from typing import Any

from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import provider_refunds, refund_attempts
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.stripe_api import FakeStripe

CAPTURED = 5500  # 2 mugs × 2500 + 500 shipping, paid with pi_123 (charge ch_123)
BOTH_MUGS = [{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}]
T0 = 1764000000


def event(event_id: str, type_: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {**stripe_event(event_id, type_, obj), "created": created}


def charge_refunded(event_id: str, amount_refunded: int, created: int) -> dict[str, Any]:
    return event(event_id, "charge.refunded", {
        "id": "ch_123", "object": "charge", "amount": CAPTURED, "amount_captured": CAPTURED,
        "amount_refunded": amount_refunded, "refunded": amount_refunded == CAPTURED,
        "currency": "usd", "payment_intent": "pi_123"}, created)


def outside_refund(event_id: str, type_: str, status: str, created: int,
                   refund_created: int = T0 + 5) -> dict[str, Any]:
    """A 30.00 refund made in the Stripe dashboard (no attempt id in its metadata)."""
    return event(event_id, type_, {
        "id": "re_dashboard", "object": "refund", "amount": 3000, "currency": "usd",
        "payment_intent": "pi_123", "charge": "ch_123", "status": status,
        "created": refund_created, "metadata": {},
        "failure_reason": "expired_or_canceled_card" if status == "failed" else None}, created)


def payment(harness: Harness) -> PaymentFacts:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, "1001")
    return pay


def paid(harness: Harness) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200


def test_a_counted_outside_refund_that_fails_frees_its_amount_again(harness: Harness) -> None:
    paid(harness)
    assert harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10)).status_code == 200
    assert (payment(harness).refunded, payment(harness).refundable) == (3000, 2500)

    resp = harness.post_stripe(outside_refund("evt_re_f", "refund.failed", "failed", T0 + 20))

    assert resp.status_code == 200
    assert (payment(harness).refunded, payment(harness).refundable) == (0, CAPTURED)
    # the same failure again (refund.updated says it too) frees nothing twice
    harness.post_stripe(outside_refund("evt_re_u", "refund.updated", "failed", T0 + 20))
    assert (payment(harness).refunded, payment(harness).refundable) == (0, CAPTURED)
    assert verify_ledger(harness.runtime.engine) == []


def test_a_newer_lower_charge_refunded_lowers_what_is_counted(harness: Harness) -> None:
    paid(harness)
    harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10))

    harness.post_stripe(charge_refunded("evt_ch_2", 1000, T0 + 20))

    assert (payment(harness).refunded, payment(harness).refundable) == (1000, 4500)


def test_an_older_charge_refunded_delivered_late_does_not_overwrite_a_newer_one(
    harness: Harness,
) -> None:
    paid(harness)
    harness.post_stripe(charge_refunded("evt_ch_new", 3000, T0 + 20))

    resp = harness.post_stripe(charge_refunded("evt_ch_old", 1000, T0 + 10))

    assert resp.status_code == 200
    assert (payment(harness).refunded, payment(harness).refundable) == (3000, 2500)


def test_a_failure_delivered_before_the_older_charge_refunded_that_counted_it_still_frees_it(
    harness: Harness,
) -> None:
    paid(harness)
    harness.post_stripe(outside_refund("evt_re_f", "refund.failed", "failed", T0 + 20))

    harness.post_stripe(charge_refunded("evt_ch_late", 3000, T0 + 10))

    assert (payment(harness).refunded, payment(harness).refundable) == (0, CAPTURED)


def test_a_failure_older_than_the_charge_refunded_changes_nothing_more(
    harness: Harness,
) -> None:
    """The charge reported after the failure already leaves the failed refund out."""
    paid(harness)
    harness.post_stripe(outside_refund("evt_re_f", "refund.failed", "failed", T0 + 20))
    harness.post_stripe(charge_refunded("evt_ch_after", 1000, T0 + 30))  # another refund

    assert (payment(harness).refunded, payment(harness).refundable) == (1000, 4500)


def test_a_return_after_a_failed_outside_refund_is_refunded_in_full(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(CAPTURED, "usd", "pi_123")
    paid(harness)
    harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10))
    harness.post_stripe(outside_refund("evt_re_f", "refund.failed", "failed", T0 + 20))

    answer = harness.post_storefront(return_requested(lines=BOTH_MUGS)).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["refund_amount"]) == ("approve", CAPTURED)
    assert [c.params["amount"] for c in fake_stripe.calls_to("POST", "/v1/refunds")] == ["5500"]
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.amount) == ("succeeded", CAPTURED)
    assert fake_stripe.refunded("pi_123") == CAPTURED


def test_what_stripe_captured_caps_the_storefronts_total_whichever_arrives_first(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # 55.00 ordered, Stripe captured 50.00 of it (a partial capture): Stripe's word stands,
    # before or after the storefront's order.paid, so the whole order goes to a person
    fake_stripe.add_payment_intent(CAPTURED - 500, "usd", "pi_123")
    intent = {"id": "pi_123", "object": "payment_intent", "amount": CAPTURED,
              "amount_received": CAPTURED - 500, "currency": "usd", "latest_charge": "ch_123",
              "status": "succeeded", "metadata": {"order_id": "1001"}}
    paid(harness)
    assert payment(harness).captured == CAPTURED  # the storefront's claim, until Stripe speaks
    assert harness.post_stripe(event("evt_pi", "payment_intent.succeeded", intent, T0 + 1)
                               ).status_code == 200
    assert payment(harness).captured == CAPTURED - 500
    resent = {**order_paid(), "id": "evt_paid_again"}
    assert harness.post_storefront(resent).status_code == 200
    assert payment(harness).captured == CAPTURED - 500  # a later claim does not raise it

    answer = harness.post_storefront(return_requested(lines=BOTH_MUGS)).json
    harness.drain()

    assert answer is not None
    assert (answer["outcome"], answer["reason_code"], answer["refund_amount"]) == (
        "review", "exceeds_refundable", CAPTURED - 500)
    assert fake_stripe.calls_to("POST", "/v1/refunds") == [] and harness.rows(refund_attempts) == []


def test_a_refund_created_delivered_after_its_failure_does_not_count_it_again(
    harness: Harness,
) -> None:
    """Stripe's refund.failed (20 s) overtakes the refund.created (pending, 5 s) of a dashboard
    refund: a failed refund stays failed, so nothing of it is counted as refunded."""
    paid(harness)
    harness.post_stripe(outside_refund("evt_re_f", "refund.failed", "failed", T0 + 20))

    resp = harness.post_stripe(outside_refund("evt_re_c", "refund.created", "pending", T0 + 5))

    assert resp.status_code == 200
    assert (payment(harness).refunded, payment(harness).refundable) == (0, CAPTURED)
    [row] = harness.rows(provider_refunds)
    assert (row.refund_id, row.status) == ("re_dashboard", "failed")


def test_a_late_pending_word_does_not_undo_a_refunds_success(harness: Harness) -> None:
    paid(harness)
    harness.post_stripe(outside_refund("evt_re_s", "refund.updated", "succeeded", T0 + 20))
    harness.post_stripe(outside_refund("evt_re_c", "refund.created", "pending", T0 + 5))

    [row] = harness.rows(provider_refunds)
    assert row.status == "succeeded"
    assert (payment(harness).refunded, payment(harness).refundable) == (3000, 2500)
