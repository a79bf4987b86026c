"""Store credit in a three-decimal currency on Stripe: what is recorded, told and issued agree.

Stripe takes BHD JOD KWD OMR TND amounts only in multiples of 10 minor units. The policy rounds
the credit (and any bonus) down to that step, so the decision, the customer's answer, the
attempt and the coupon's ``amount_off`` all name the same number; nothing is rounded later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.domain.decision import Decision, Resolution
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.facts import load_facts
from refunds_plugin.ledger.tables import decisions, refund_attempts, reviews
from refunds_plugin.providers import Instruction
from refunds_plugin.providers.stripe import StripeProvider
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer

POLICY = """\
name: kwd-credit
currency: KWD
window: {days: 365, start: payment}
resolution: {default: credit, allow: [credit, refund]%s}
"""


@pytest.fixture
def kwd_shop(policy_harness: Callable[[str], Harness]) -> Callable[[str], Harness]:
    return lambda resolution_extra: policy_harness(POLICY % resolution_extra)


def vase_order() -> dict[str, Any]:
    lines = [{"id": "l1", "sku": "VASE-1", "name": "Glass vase", "quantity": 1,
              "unit_amount": 12345, "tags": []}]
    return order_paid(currency="KWD", lines=lines, shipping=0, reference="pi_kwd")


def credit_return(h: Harness, fake: FakeStripe) -> dict[str, Any]:
    fake.add_payment_intent(12345, "KWD", "pi_kwd")
    assert h.post_storefront(vase_order()).status_code == 200
    resp = h.post_storefront(return_requested(preferred="credit"))
    assert resp.status_code == 201 and resp.json is not None
    h.drain()
    return resp.json


def issued(h: Harness, fake: FakeStripe) -> tuple[Any, int, int, int, int, str]:
    """(attempt status, attempt amount, bonus, sent_amount, coupon amount_off, explanation)."""
    [attempt] = h.rows(refund_attempts)
    [coupon_call] = fake.calls_to("POST", "/v1/coupons")
    [decision] = h.rows(decisions)
    return (attempt.status, attempt.amount, attempt.bonus, attempt.sent_amount,
            int(coupon_call.params["amount_off"]), decision.explanation)


def test_kwd_store_credit_on_stripe_is_recorded_told_and_issued_as_the_same_rounded_amount(
    kwd_shop: Callable[[str], Harness], fake_stripe: FakeStripe
) -> None:
    h = kwd_shop("")

    answer = credit_return(h, fake_stripe)

    assert (answer["outcome"], answer["resolution"], answer["amount"],
            answer["credit_amount"]) == ("approve", "credit", 12340, 12340)
    status, amount, bonus, sent, amount_off, explanation = issued(h, fake_stripe)
    assert (status, amount, bonus, sent, amount_off) == ("succeeded", 12340, 0, 12340, 12340)
    assert "give you 12.340 KWD in store credit" in explanation
    assert answer["explanation"] == explanation
    [decision] = h.rows(decisions)
    assert (decision.amount, decision.credit_amount) == (12340, 12340)
    assert h.count(reviews) == 0
    assert h.chain_problem() is None


def test_kwd_store_credit_with_a_bonus_is_issued_exactly_as_recorded_and_told(
    kwd_shop: Callable[[str], Harness], fake_stripe: FakeStripe
) -> None:
    h = kwd_shop(", credit_bonus_percent: 10")

    answer = credit_return(h, fake_stripe)

    # 12.345 owed -> 12.340 credit; 10% of it is 1.234 -> 1.230 bonus; coupon 13.570
    assert (answer["outcome"], answer["amount"], answer["credit_amount"]) == (
        "approve", 12340, 13570)
    assert [(a["kind"], a["amount"], a["bonus"]) for a in answer["attempts"]] == [
        ("credit", 12340, 1230)]
    status, amount, bonus, sent, amount_off, explanation = issued(h, fake_stripe)
    assert (status, amount, bonus, sent, amount_off) == ("succeeded", 12340, 1230, 13570, 13570)
    assert ("give you 13.570 KWD in store credit (including a bonus of 1.230 KWD for choosing "
            "credit)") in explanation
    [decision] = h.rows(decisions)
    assert (decision.amount, decision.credit_amount) == (12340, 13570)
    assert h.count(reviews) == 0
    assert h.chain_problem() is None


OFF_STEP = ("12.345 KWD is not a multiple of 0.010 KWD, the step Stripe takes; refused rather "
            "than sending a different amount than the ledger records")


@pytest.mark.parametrize(("kind", "amount", "bonus"), [
    pytest.param("credit", 12345, 0, id="credit"),
    pytest.param("credit", 12340, 5, id="credit-with-bonus"),  # the coupon is the sum
    pytest.param("refund", 12345, 0, id="refund"),
])
def test_the_stripe_provider_refuses_an_amount_off_stripes_step_instead_of_rounding_it(
    stripe_server: FakeStripeServer, fake_stripe: FakeStripe, kind: str, amount: int,
    bonus: int,
) -> None:
    fake_stripe.add_payment_intent(20000, "KWD", "pi_kwd")
    provider = StripeProvider("sk_test_fake", api_base=stripe_server.url, max_network_retries=0)
    ins = Instruction(attempt_id="a-1", decision_id="d-1", order_id="1001",
                      idempotency_key="k-1", kind=kind, amount=amount, currency="KWD",
                      bonus=bonus, payment_reference="pi_kwd")
    saved: list[dict[str, Any]] = []

    with pytest.raises(FinalProviderError) as refused:
        provider.execute(ins, saved.append)

    assert (refused.value.code, refused.value.retryable) == ("amount_off_step", False)
    assert refused.value.message == OFF_STEP
    assert (fake_stripe.calls, saved) == ([], [])


def test_the_stripe_provider_refuses_a_zero_refund_in_words_a_person_reads(
    stripe_server: FakeStripeServer, fake_stripe: FakeStripe
) -> None:
    provider = StripeProvider("sk_test_fake", api_base=stripe_server.url, max_network_retries=0)
    ins = Instruction(attempt_id="a-1", decision_id="d-1", order_id="1001",
                      idempotency_key="k-1", kind="refund", amount=0, currency="KWD",
                      bonus=0, payment_reference="pi_kwd")

    with pytest.raises(FinalProviderError) as refused:
        provider.execute(ins, lambda _progress: None)

    assert (refused.value.code, refused.value.message) == (
        "amount_too_small", "0.000 KWD is nothing Stripe can refund")
    assert fake_stripe.calls == []


def test_a_credit_attempt_off_the_step_recorded_before_the_policy_rounded_goes_to_review(
    kwd_shop: Callable[[str], Harness], fake_stripe: FakeStripe
) -> None:
    """An approved credit of 12.345 KWD recorded by an older version (no policy rounding) is
    refused by the provider and lands in the review queue; no coupon is made."""
    h = kwd_shop("")
    fake_stripe.add_payment_intent(12345, "KWD", "pi_kwd")
    h.post_storefront(vase_order())
    old = Decision(outcome=Outcome.APPROVE, reason_code="approved", explanation="old",
                   currency="KWD", policy_name="old", policy_hash="0" * 64,
                   kind=DecisionKind.RETURN,
                   resolutions=(Resolution(ResolutionKind.CREDIT, 12345),))
    with write_tx(h.runtime.engine) as conn:
        facts = load_facts(conn, "1001", h.clock.now)
        assert facts is not None
        record_decision(conn, decision=old, facts=facts, request={"id": "r-old"},
                        request_key="return:r-old", route=h.runtime.service.route(facts),
                        now=h.clock.now)

    h.drain()
    h.drain()  # a final refusal is not retried

    [attempt] = h.rows(refund_attempts)
    assert (attempt.kind, attempt.amount, attempt.status, attempt.tries, attempt.sent_amount,
            attempt.last_error) == ("credit", 12345, "failed", 1, None,
                                    f"amount_off_step: {OFF_STEP}")
    [review] = h.rows(reviews)
    assert (review.decision_id, review.status, review.reason) == (
        attempt.decision_id, "open", f"attempt_failed: amount_off_step: {OFF_STEP}")
    assert fake_stripe.calls_to("POST", "/v1/coupons") == []
    assert h.chain_problem() is None


def test_policy_explain_says_what_the_service_gives_for_the_same_kwd_order(
    policy_harness: Callable[..., Harness], fake_stripe: FakeStripe
) -> None:
    # the finance walk: explain said 13.579 KWD of credit where the service gives 13.570
    h = policy_harness("", policy="preset:credit-first")
    answer = credit_return(h, fake_stripe)
    [decision] = h.rows(decisions)
    assert (answer["outcome"], decision.credit_amount) == ("approve", 13570)

    said = CliRunner().invoke(main, ["policy", "explain", "--policy", "preset:credit-first",
                                     "--currency", "KWD", "--price", "12.345", "--prefer",
                                     "credit"])
    assert said.exit_code == 0, said.output
    lines = said.output.splitlines()
    assert lines[0] == ("paid with:   stripe (refunds and store credit go in steps of "
                        "0.010 KWD, as the service sends them)")
    [amount] = [line for line in lines if line.startswith("amount:")]
    assert "credit 13.570 KWD" in amount
    assert "resolution:  credit 12.340 KWD + bonus 1.230 KWD" in lines
