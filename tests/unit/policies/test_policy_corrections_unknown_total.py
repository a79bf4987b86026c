"""A duplicate charge found without the order's total goes to a person, never paid by itself.

Two equal payments may be one order paid in two halves (two cards); only the order total tells
the two apart, so without it ``evaluate_correction`` answers review (``order_total_unknown``)
with the amount worked out, for finance to confirm.
"""

from __future__ import annotations

from policy_builders import NOW, TOTAL, order

from policies import evaluate_correction, load_policy, load_policy_text
from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind

DUP, OVER = DecisionKind.DUPLICATE_CHARGE, DecisionKind.OVERPAYMENT
TWO = (PaymentFacts("stripe", "pi_1", 2500), PaymentFacts("stripe", "pi_2", 2500))


def test_a_duplicate_without_an_order_total_is_reviewed_with_the_amount_worked_out():
    d = evaluate_correction(load_policy("preset:default"), order(payments=TWO), DUP, 2500,
                            "pi_2", NOW, "same amount 2m later", order_total_known=False)
    assert (d.outcome.value, d.reason_code, d.kind) == ("review", "order_total_unknown", DUP)
    assert [(r.kind.value, r.amount, r.payment_reference) for r in d.resolutions] == [
        ("refund", 2500, "pi_2")]
    assert d.explanation == (
        "We noticed two payments of the same amount for order 1001. We do not know the order's "
        "total, so our team is checking whether you were charged twice; if you were, we will "
        "refund the extra 25.00 USD within 48 hours.")
    [rule] = d.trace
    assert (rule.rule, rule.verdict, rule.code, rule.message) == (
        "trouble", "review", "order_total_unknown",
        "Without the order's total, two equal payments may be one order paid in two parts, so "
        "a person decides.")
    assert (rule.saw["order_total_known"], rule.saw["granted"]) == (False, 2500)


def test_with_the_total_known_the_same_duplicate_is_approved_as_before():
    d = evaluate_correction(load_policy("preset:default"), order(payments=TWO), DUP, 2500,
                            "pi_2", NOW, "")
    assert (d.outcome.value, d.reason_code) == ("approve", "duplicate_charge_corrected")
    assert "order_total_known" not in d.trace[0].saw


def test_an_unknown_total_outranks_the_automatic_limit_but_not_a_dispute_or_a_switched_off_check():
    limited = load_policy_text(
        "window: {days: 30}\ncurrency: USD\n"
        "trouble: {duplicate_charge: {auto_approve_up_to: '10.00'}}\n", "t")
    d = evaluate_correction(limited, order(payments=TWO), DUP, 2500, "pi_2", NOW, "",
                            order_total_known=False)
    assert (d.outcome.value, d.reason_code) == ("review", "order_total_unknown")

    disputed = (TWO[0], PaymentFacts("stripe", "pi_2", 2500, disputed=True))
    d = evaluate_correction(load_policy("preset:default"), order(payments=disputed), DUP, 2500,
                            "pi_2", NOW, "", order_total_known=False)
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("review", "payment_disputed", ())

    off = load_policy_text("window: {days: 30}\ntrouble: {duplicate_charge: {enabled: false}}\n",
                           "t")
    d = evaluate_correction(off, order(payments=TWO), DUP, 2500, "pi_2", NOW, "",
                            order_total_known=False)
    assert (d.outcome.value, d.reason_code) == ("decline", "detector_disabled")


def test_an_unknown_total_does_not_change_an_overpayment():
    facts = order(payments=(PaymentFacts("stripe", "pi_1", TOTAL + 700),))
    d = evaluate_correction(load_policy("preset:default"), facts, OVER, 700, "pi_1", NOW, "",
                            order_total_known=False)
    assert (d.outcome.value, d.reason_code, d.amount) == ("approve", "overpayment_corrected", 700)
