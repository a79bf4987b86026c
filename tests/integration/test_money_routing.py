"""Money only moves through a provider we can call, and the ledger double-checks every approval."""

from __future__ import annotations

from dataclasses import replace

import pytest

from policies.explanation import PROMISE
from refunds_plugin.domain.decision import Decision, Resolution
from refunds_plugin.domain.facts import OrderFacts, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.language.said import Joined, said
from refunds_plugin.ledger.decisions import guard_refundable
from refunds_plugin.ledger.tables import events, orders, payments, refund_attempts, reviews
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_payment_provider_the_service_has_no_adapter_for_is_refused_and_nothing_recorded(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer, dry_run: bool,
) -> None:
    h = Harness(any_db_url, clock, "" if dry_run else stripe_server.url)
    try:
        resp = h.post_storefront(order_paid(provider="other", reference="gc_1"))
        assert (resp.status_code, resp.json) == (400, {"error": {
            "code": "unsupported_payment_provider",
            "message": "payment.provider 'other' is not a payment provider this service can "
                       "refund through: use one of stripe, saleor"}})
        assert (h.rows(events), h.rows(orders), h.rows(payments)) == ([], [], [])
    finally:
        h.close()


def test_a_saleor_payment_with_no_saleor_connection_goes_to_a_person_promising_nothing(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer, fake_stripe: FakeStripe,
) -> None:
    h = Harness(any_db_url, clock, stripe_server.url)  # live Stripe key, no Saleor shop
    try:
        h.post_storefront(order_paid(provider="saleor", reference="tx_1"))
        resp = h.post_storefront(return_requested(
            lines=[{"line_id": "l1", "quantity": 1, "reason": "defective"}]))
        h.drain()
        answer = resp.json
        assert answer is not None and resp.status_code == 201
        assert (answer["outcome"], answer["reason_code"], answer["attempts"]) == (
            "review", "provider_not_connected", [])
        assert answer["explanation"].endswith(
            "This order was paid through saleor, which this shop has not connected for "
            "refunds, so a person will settle it by hand; no money has moved yet.")
        assert "within 48 hours" not in answer["explanation"]
        assert h.rows(refund_attempts) == []
        [review] = h.rows(reviews)
        assert review.status == "open"
        assert fake_stripe.calls_to("POST", "/v1/refunds") == []
    finally:
        h.close()


def test_a_dry_run_answer_says_it_is_a_dry_run(sqlite_url: str, clock: Clock) -> None:
    h = Harness(sqlite_url, clock)  # no Stripe key
    try:
        h.post_storefront(order_paid())
        answer = h.post_storefront(return_requested()).json
        assert answer is not None
        assert (answer["dry_run"], answer["attempts"][0]["provider"]) == (True, "dryrun")
    finally:
        h.close()


def _facts(refundable_left: int) -> OrderFacts:
    line = OrderLine("l1", "MUG-1", "Mug", 2, 2500)
    pay = PaymentFacts("stripe", "pi_1", captured=5000, refunded=5000 - refundable_left)
    return OrderFacts("1001", "USD", (line,), 0, 5000, payments=(pay,))


def _approval(amount: int) -> Decision:
    return Decision(
        outcome=Outcome.APPROVE, reason_code="approved", explanation="Approved.",
        currency="USD", policy_name="p", policy_hash="h", kind=DecisionKind.RETURN,
        resolutions=(Resolution(ResolutionKind.REFUND, amount, payment_reference="pi_1"),),
    )


def test_an_approval_within_what_the_payment_holds_is_recorded_unchanged() -> None:
    decision = _approval(2500)
    assert guard_refundable(decision, _facts(2500)) is decision


def test_an_approval_beyond_what_the_payment_holds_is_sent_to_review() -> None:
    guarded = guard_refundable(_approval(2600), _facts(2500))
    assert (guarded.outcome, guarded.reason_code) == (Outcome.REVIEW, "exceeds_refundable")
    assert guarded.trace[-1].saw == {"pi_1": {"wanted": 2600, "refundable": 2500}}
    assert guarded.explanation.startswith("Approved. The refund would be more than")
    assert replace(guarded, outcome=Outcome.APPROVE).resolutions == _approval(2600).resolutions


def test_an_approval_sent_to_review_by_the_ledger_promises_no_time_for_the_money() -> None:
    """The policy's paragraph promised the money within 48 hours; once the ledger holds the
    approval for a person, the customer reads no promise, only why a person will look."""
    approval = replace(_approval(2600), explanation=Joined(
        [said("Approved."), said(PROMISE, hours=48)]))
    assert "within 48 hours" in str(approval.explanation)  # what the policy said

    guarded = guard_refundable(approval, _facts(2500))

    assert str(guarded.explanation) == (
        "Approved. The refund would be more than the payment still holds, so a person will "
        "check it before any money moves.")
