"""default: a full refund of the returned lines to the original payment within 365 days of
payment; anything else is reviewed by a person. No fees, no limits, no abuse checks."""

from __future__ import annotations

import pytest
from policy_builders import NOW, TOTAL, Expect, ask, order

from policies import evaluate, load_policy
from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.language.said import render

POLICY = load_policy("preset:default")
R = Reason
EVERYTHING = ask(("shirt", 2, R.CHANGED_MIND), ("socks", 1, R.OTHER), ("dress", 1, R.TOO_SMALL),
                 ("jacket", 1, R.TOO_LARGE), ("scarf", 1, R.CHANGED_MIND))

CASES = [
    ("a_change_of_mind_300_days_after_payment_is_refunded_in_full",
     order(days=290, paid_days=300), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=4000)),
    ("day_365_after_payment_is_still_refunded",
     order(days=360, paid_days=365), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=4000)),
    ("day_366_after_payment_goes_to_a_person_with_the_refund_worked_out",
     order(days=360, paid_days=366), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "outside_window_review", refund=4000)),
    ("a_preference_for_credit_still_refunds_to_the_original_payment",
     order(), ask(("shirt", 1, R.CHANGED_MIND), prefer=ResolutionKind.CREDIT),
     Expect("approve", "approved", refund=4000)),
    ("final_sale_tags_do_not_matter",
     order(), ask(("dress", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=12000)),
    ("a_300_jacket_is_refunded_without_limit_or_fee",
     order(), ask(("jacket", 1, R.CHANGED_MIND)),
     Expect("approve", "approved", refund=30000)),
    ("returning_everything_refunds_the_whole_order_including_shipping",
     order(), EVERYTHING,
     Expect("approve", "approved", refund=TOTAL, shipping=800)),
    ("a_damaged_item_is_refunded_in_full_with_shipping_and_no_fee",
     order(), ask(("shirt", 1, R.DAMAGED)),
     Expect("approve", "approved", refund=4800, shipping=800)),
    ("an_order_without_any_dates_goes_to_a_person",
     order(days=None), ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "no_start_date", refund=4000)),
    ("a_disputed_payment_goes_to_a_person",
     order(payments=(PaymentFacts("stripe", "pi_1", TOTAL, disputed=True),)),
     ask(("shirt", 1, R.CHANGED_MIND)),
     Expect("review", "payment_disputed")),
]


@pytest.mark.parametrize(("facts", "request_", "expect"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_default_promise(facts, request_, expect):
    expect.check(evaluate(POLICY, facts, request_, NOW))


def test_the_refund_goes_back_to_the_payment_it_came_from():
    d = evaluate(POLICY, order(), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert [(r.kind.value, r.amount, r.payment_reference) for r in d.resolutions] == [
        ("refund", 4000, "pi_1")]
    assert (d.policy_name, d.promise_hours) == ("default", 48)


def test_the_window_sentence_names_its_start_in_the_readers_language():
    d = evaluate(load_policy("preset:default"), order(days=360, paid_days=366),
                 ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    window = next(r for r in d.trace if r.rule == "window")

    assert window.message == (
        "The 365-day return window for Linen shirt has passed (366 days since payment); "
        "our team will look at it.")
    assert render(window.message, "de") == (
        "Die 365-tägige Rückgabefrist für Linen shirt ist abgelaufen (366 Tage seit der "
        "Zahlung); unser Team sieht es sich an.")
    assert render(window.message, "fr").endswith(
        "(366 jours depuis le paiement)\u202f; notre équipe va l'examiner.")
    assert "(366 días desde el pago)" in render(window.message, "es")
