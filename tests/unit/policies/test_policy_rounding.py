"""Refunds go back in the provider's steps: the decision says exactly what is sent.

Stripe takes three-decimal currencies (BHD JOD KWD OMR TND) only in multiples of 10 minor
units, so the service sets ``OrderFacts.refund_increment`` to 10 there and the policy rounds
every refund down to it. Store credit goes out through the same provider (a Stripe coupon), so
it is rounded down to the same step (more in ``test_policy_credit_rounding.py``).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from policy_builders import CUP, NOW, VASE, ask, order

from policies import evaluate, evaluate_correction, load_policy, load_policy_text
from refunds_plugin.domain.decision import Decision, RuleResult
from refunds_plugin.domain.facts import OrderFacts, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind, Reason, ResolutionKind

CREDIT_POLICY = ("window: {days: 30}\n"
                 "resolution: {default: credit, allow: [credit, refund]}\n")


def shop(currency: str, step: int, *, lines: tuple[OrderLine, ...] = (VASE, CUP),
         payments: tuple[PaymentFacts, ...] | None = None) -> OrderFacts:
    return replace(order(lines=lines, shipping=0, currency=currency, payments=payments),
                   refund_increment=step)


def refunds(d: Decision) -> list[tuple[str, int, str | None]]:
    return [(r.kind.value, r.amount, r.payment_reference) for r in d.resolutions]


def rounding_trace(d: Decision) -> list[RuleResult]:
    return [r for r in d.trace if r.rule == "rounding"]


@pytest.mark.parametrize("currency", ["KWD", "BHD"])
def test_a_three_decimal_card_refund_is_rounded_down_to_stripes_step_and_explained(currency):
    d = evaluate(load_policy("preset:default"), shop(currency, 10),
                 ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.reason_code) == ("approve", "approved")
    assert refunds(d) == [("refund", 12340, "pi_1")]
    assert (d.amount, d.refund_amount, d.lines[0].amount) == (12340, 12340, 12345)
    assert rounding_trace(d) == [RuleResult(
        "rounding", "adjust", "provider_rounding",
        f"Card refunds in {currency} go in steps of 0.010; 0.005 {currency} could not be "
        "refunded to your card.",
        {"refund_increment": 10, "wanted": 12345, "refunded": 12340, "not_refunded": 5})]
    assert d.explanation == (
        f"Your return of 1 × Glass vase is approved. We will refund 12.340 {currency} to your "
        "original payment. Please send back: Glass vase. The money will be on its way within "
        "48 hours.")


@pytest.mark.parametrize(("currency", "unit", "text"), [
    ("JPY", 12345, "12345 JPY"), ("USD", 12345, "123.45 USD"), ("KWD", 12345, "12.345 KWD"),
])
def test_a_refund_in_steps_of_one_minor_unit_is_not_rounded(currency, unit, text):
    # KWD with step 1 is a provider without Stripe's rule (the dry run of a Saleor shop, say)
    line = OrderLine("vase", "VASE-1", "Glass vase", 1, unit)
    d = evaluate(load_policy("preset:default"), shop(currency, 1, lines=(line, CUP)),
                 ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert refunds(d) == [("refund", unit, "pi_1")]
    assert rounding_trace(d) == []
    assert f"We will refund {text} to your original payment." in d.explanation


def test_a_refund_already_on_the_step_is_not_touched():
    line = OrderLine("vase", "VASE-1", "Glass vase", 1, 12340)
    d = evaluate(load_policy("preset:default"), shop("KWD", 10, lines=(line, CUP)),
                 ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert (refunds(d), rounding_trace(d)) == ([("refund", 12340, "pi_1")], [])


def test_store_credit_in_a_three_decimal_currency_is_rounded_down_to_the_same_step():
    d = evaluate(load_policy_text(CREDIT_POLICY, "credit"), shop("KWD", 10),
                 ask(("vase", 1, Reason.CHANGED_MIND), prefer=ResolutionKind.CREDIT), NOW)
    assert refunds(d) == [("credit", 12340, None)]
    assert [r.saw for r in rounding_trace(d)] == [
        {"credit_increment": 10, "wanted": 12345, "credited": 12340, "not_credited": 5}]
    assert "give you 12.340 KWD in store credit" in d.explanation


def test_a_refund_over_two_payments_rounds_each_part_and_says_what_was_left_out():
    pays = (PaymentFacts("stripe", "pi_1", 12345), PaymentFacts("stripe", "pi_2", 1005))
    line = OrderLine("vase", "VASE-1", "Glass vase", 1, 13350)
    d = evaluate(load_policy("preset:default"), shop("KWD", 10, lines=(line,), payments=pays),
                 ask(("vase", 1, Reason.DAMAGED)), NOW)
    # pi_1 can take 12.340; the 0.005 it cannot take goes to pi_2, which can take 1.000 of 1.005
    assert refunds(d) == [("refund", 12340, "pi_1"), ("refund", 1000, "pi_2")]
    assert [r.saw for r in rounding_trace(d)] == [
        {"refund_increment": 10, "wanted": 13350, "refunded": 13340, "not_refunded": 10}]
    assert "We will refund 13.340 KWD to your original payment." in d.explanation


def test_a_refund_smaller_than_one_step_gives_nothing_and_says_why():
    line = OrderLine("pin", "PIN-1", "Pin", 1, 5)
    d = evaluate(load_policy("preset:default"), shop("KWD", 10, lines=(line, CUP)),
                 ask(("pin", 1, Reason.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.resolutions, d.amount) == ("approve", (), 0)
    assert d.explanation == (
        "Your return of 1 × Pin is approved. Card refunds in KWD go in steps of 0.010; "
        "0.005 KWD could not be refunded to your card. Please send back: Pin.")


def test_a_duplicate_charge_in_kwd_is_refunded_in_stripes_steps():
    pays = (PaymentFacts("stripe", "pi_1", 14345), PaymentFacts("stripe", "pi_2", 2345))
    d = evaluate_correction(load_policy("preset:default"), shop("KWD", 10, payments=pays),
                            DecisionKind.DUPLICATE_CHARGE, 2345, "pi_2", NOW, "same amount")
    assert (d.outcome.value, d.reason_code) == ("approve", "duplicate_charge_corrected")
    assert refunds(d) == [("refund", 2340, "pi_2")]
    assert d.explanation == ("We noticed you were charged twice for order 1001 and refunded "
                             "the extra 2.340 KWD.")
    assert [(r.rule, r.verdict, r.code, r.saw) for r in d.trace[1:]] == [
        ("rounding", "adjust", "provider_rounding",
         {"refund_increment": 10, "wanted": 2345, "refunded": 2340, "not_refunded": 5})]
    assert d.trace[0].saw["granted"] == 2340


def test_a_correction_below_one_step_is_declined_with_the_reason():
    pays = (PaymentFacts("stripe", "pi_1", 14345),)
    d = evaluate_correction(load_policy("preset:default"), shop("BHD", 10, payments=pays),
                            DecisionKind.OVERPAYMENT, 5, "pi_1", NOW, "paid 0.005 too much")
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("decline", "provider_rounding", ())
    assert d.explanation == ("Card refunds in BHD go in steps of 0.010; 0.005 BHD could not be "
                             "refunded to your card.")


def test_a_correction_given_as_store_credit_is_rounded_down_to_the_same_step():
    pays = (PaymentFacts("stripe", "pi_1", 14345 + 705),)
    d = evaluate_correction(load_policy("preset:credit-first"), shop("KWD", 10, payments=pays),
                            DecisionKind.OVERPAYMENT, 705, "pi_1", NOW, "")
    assert refunds(d) == [("credit", 700, None)]
    assert [r.rule for r in d.trace] == ["trouble", "rounding"]
