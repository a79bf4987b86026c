"""Looking for trouble: overpayments and duplicate charges are put right before anyone asks."""

from __future__ import annotations

from policy_builders import NOW, TOTAL, order

from policies import evaluate_correction, load_policy, load_policy_text
from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind

DUP, OVER = DecisionKind.DUPLICATE_CHARGE, DecisionKind.OVERPAYMENT
TWO = (PaymentFacts("stripe", "pi_1", TOTAL), PaymentFacts("stripe", "pi_2", 2500))


def test_a_duplicate_charge_is_refunded_to_the_payment_that_duplicated_it():
    pol = load_policy("preset:default")
    d = evaluate_correction(pol, order(payments=TWO), DUP, 2500, "pi_2", NOW, "same amount 3 min")
    assert (d.outcome.value, d.reason_code, d.kind) == ("approve", "duplicate_charge_corrected",
                                                        DUP)
    assert [(r.kind.value, r.amount, r.payment_reference) for r in d.resolutions] == [
        ("refund", 2500, "pi_2")]
    assert d.explanation == ("We noticed you were charged twice for order 1001 and refunded "
                             "the extra 25.00 USD.")
    assert (d.return_required, d.trace[0].saw["detail"]) == (False, "same amount 3 min")


def test_a_correction_is_capped_at_what_the_payment_can_still_refund():
    pays = (PaymentFacts("stripe", "pi_1", TOTAL), PaymentFacts("stripe", "pi_2", 2500,
                                                                refunded=1000))
    d = evaluate_correction(load_policy("preset:default"), order(payments=pays), DUP, 2500,
                            "pi_2", NOW, "")
    assert d.amount == 1500


def test_an_overpayment_above_the_automatic_limit_goes_to_a_person():
    pol = load_policy("preset:standard-30-day")  # auto-approves overpayments up to 100.00
    facts = order(payments=(PaymentFacts("stripe", "pi_1", TOTAL + 10001),))
    d = evaluate_correction(pol, facts, OVER, 10001, "pi_1", NOW, "paid 100.01 too much")
    assert (d.outcome.value, d.reason_code, d.amount) == ("review", "above_auto_approve_limit",
                                                          10001)
    d = evaluate_correction(pol, facts, OVER, 10000, "pi_1", NOW, "paid 100.00 too much")
    assert (d.outcome.value, d.reason_code, d.amount) == ("approve", "overpayment_corrected",
                                                          10000)


def test_credit_first_gives_an_overpayment_back_as_store_credit():
    facts = order(payments=(PaymentFacts("stripe", "pi_1", TOTAL + 700),))
    d = evaluate_correction(load_policy("preset:credit-first"), facts, OVER, 700, "pi_1", NOW, "")
    assert [(r.kind.value, r.amount, r.payment_reference) for r in d.resolutions] == [
        ("credit", 700, None)]
    assert d.explanation == ("We noticed you paid more than the total of order 1001 and "
                             "credited the extra 7.00 USD as store credit.")


def test_a_disabled_detector_declines():
    pol = load_policy_text("window: {days: 30}\ntrouble: {duplicate_charge: {enabled: false}}\n",
                           "t")
    d = evaluate_correction(pol, order(payments=TWO), DUP, 2500, "pi_2", NOW, "")
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("decline", "detector_disabled", ())


def test_an_unknown_payment_declines_and_a_disputed_one_is_reviewed():
    pol = load_policy("preset:default")
    d = evaluate_correction(pol, order(payments=TWO), DUP, 2500, "pi_9", NOW, "")
    assert (d.outcome.value, d.reason_code) == ("decline", "unknown_payment")
    pays = (PaymentFacts("stripe", "pi_1", TOTAL), PaymentFacts("stripe", "pi_2", 2500,
                                                                disputed=True))
    d = evaluate_correction(pol, order(payments=pays), DUP, 2500, "pi_2", NOW, "")
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("review", "payment_disputed", ())


def test_a_limit_not_written_in_the_orders_currency_sends_it_to_a_person():
    pol = load_policy("preset:standard-30-day")
    facts = order(currency="ZAR", payments=(PaymentFacts("stripe", "pi_1", 9000),))
    d = evaluate_correction(pol, facts, OVER, 500, "pi_1", NOW, "")
    assert (d.outcome.value, d.reason_code) == ("review", "above_auto_approve_limit")
