"""Store credit goes out in the provider's steps too: a Stripe coupon in KWD is in tens of fils.

The policy rounds the credit, and then the bonus, down to ``OrderFacts.refund_increment``, so
the decision names exactly what the coupon will be; the trace says what the rounding left out.
"""

from __future__ import annotations

from dataclasses import replace

from policy_builders import CUP, NOW, VASE, ask, order

from policies import evaluate, evaluate_correction, load_policy_text
from refunds_plugin.domain.decision import RuleResult
from refunds_plugin.domain.facts import OrderFacts, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind, Reason, ResolutionKind


def credit_policy(extra: str = "", currency: str = "KWD") -> str:
    return (f"currency: {currency}\nwindow: {{days: 30}}\n"
            f"resolution: {{default: credit, allow: [credit, refund]{extra}}}\n")


def shop(currency: str, step: int, *, lines: tuple[OrderLine, ...] = (VASE, CUP),
         payments: tuple[PaymentFacts, ...] | None = None) -> OrderFacts:
    return replace(order(lines=lines, shipping=0, currency=currency, payments=payments),
                   refund_increment=step)


def credits(d) -> list[tuple[int, int]]:
    return [(r.amount, r.bonus) for r in d.resolutions if r.kind is ResolutionKind.CREDIT]


def rule(d, name: str) -> list[RuleResult]:
    return [r for r in d.trace if r.rule == name]


def test_a_kwd_credit_bonus_is_taken_on_the_rounded_credit_and_rounded_down_itself():
    d = evaluate(load_policy_text(credit_policy(", credit_bonus_percent: 10"), "p"),
                 shop("KWD", 10), ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert (d.outcome.value, credits(d), d.amount, d.credit_amount) == (
        "approve", [(12340, 1230)], 12340, 13570)
    assert rule(d, "credit_bonus") == [RuleResult(
        "credit_bonus", "adjust", "credit_bonus",
        "You get a bonus of 1.230 KWD for choosing store credit (1.234 KWD rounded down: store "
        "credit in KWD goes in steps of 0.010).",
        {"percent": "10", "cap": None, "bonus": 1230, "bonus_before_rounding": 1234,
         "credit_increment": 10})]
    assert rule(d, "rounding") == [RuleResult(
        "rounding", "adjust", "provider_rounding",
        "Store credit in KWD goes in steps of 0.010; 0.005 KWD could not be given as store "
        "credit.",
        {"credit_increment": 10, "wanted": 12345, "credited": 12340, "not_credited": 5})]
    assert d.explanation == (
        "Your return of 1 × Glass vase is approved. We will give you 13.570 KWD in store credit "
        "(including a bonus of 1.230 KWD for choosing credit). Please send back: Glass vase. The "
        "money will be on its way within 48 hours.")


def test_a_bonus_cap_off_the_step_is_rounded_down_too():
    policy = credit_policy(', credit_bonus_percent: 10, credit_bonus_max: "1.005"')
    d = evaluate(load_policy_text(policy, "p"), shop("KWD", 10),
                 ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert credits(d) == [(12340, 1000)]
    assert rule(d, "credit_bonus")[0].saw == {
        "percent": "10", "cap": 1005, "bonus": 1000, "bonus_before_rounding": 1005,
        "credit_increment": 10}


def test_credit_and_bonus_already_on_the_step_are_not_touched():
    line = OrderLine("vase", "VASE-1", "Glass vase", 1, 12400)
    d = evaluate(load_policy_text(credit_policy(", credit_bonus_percent: 10"), "p"),
                 shop("KWD", 10, lines=(line, CUP)), ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert (credits(d), rule(d, "rounding")) == ([(12400, 1240)], [])
    assert rule(d, "credit_bonus")[0].saw == {"percent": "10", "cap": None, "bonus": 1240}
    assert rule(d, "credit_bonus")[0].message == (
        "You get a bonus of 1.240 KWD for choosing store credit.")


def test_credit_in_steps_of_one_minor_unit_is_not_rounded():
    line = OrderLine("vase", "VASE-1", "Glass vase", 1, 12345)
    d = evaluate(load_policy_text(credit_policy(", credit_bonus_percent: 10", "USD"), "p"),
                 shop("USD", 1, lines=(line, CUP)), ask(("vase", 1, Reason.CHANGED_MIND)), NOW)
    assert (credits(d), rule(d, "rounding")) == ([(12345, 1234)], [])
    assert "give you 135.79 USD in store credit" in d.explanation


def test_credit_smaller_than_one_step_gives_nothing_and_says_why():
    pin = OrderLine("pin", "PIN-1", "Pin", 1, 5)
    d = evaluate(load_policy_text(credit_policy(", credit_bonus_percent: 10"), "p"),
                 shop("KWD", 10, lines=(pin, CUP)), ask(("pin", 1, Reason.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.resolutions, d.amount, rule(d, "credit_bonus")) == (
        "approve", (), 0, [])
    assert d.explanation == (
        "Your return of 1 × Pin is approved. Store credit in KWD goes in steps of 0.010; "
        "0.005 KWD could not be given as store credit. Please send back: Pin.")


def test_a_correction_as_store_credit_below_one_step_is_declined_with_the_reason():
    pays = (PaymentFacts("stripe", "pi_1", 14345),)
    policy = load_policy_text(
        "window: {days: 30}\ntrouble: {overpayment: {enabled: true, resolution: credit}}\n", "p")
    d = evaluate_correction(policy, shop("OMR", 10, payments=pays), DecisionKind.OVERPAYMENT,
                            7, "pi_1", NOW, "paid 0.007 too much")
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("decline", "provider_rounding", ())
    assert d.explanation == ("Store credit in OMR goes in steps of 0.010; 0.007 OMR could not be "
                             "given as store credit.")
    d = evaluate_correction(policy, shop("OMR", 10, payments=pays), DecisionKind.OVERPAYMENT,
                            2347, "pi_1", NOW, "")
    assert [(r.kind.value, r.amount) for r in d.resolutions] == [("credit", 2340)]
    assert d.explanation == ("We noticed you paid more than the total of order 1001 and "
                             "credited the extra 2.340 OMR as store credit.")
