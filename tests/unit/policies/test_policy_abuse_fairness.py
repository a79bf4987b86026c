"""Abuse signals treat a customer by their lifetime, never our mistakes as theirs, and say the
true reason kindly; every preset's amounts cover the currencies a shop commonly sells in."""

from __future__ import annotations

from importlib import resources

import pytest
from policy_builders import NOW, Expect, ask, order

from policies import Policy, evaluate, load_policy, load_policy_text
from refunds_plugin.domain.facts import CustomerHistory, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.language.said import render

NO_HASSLE = load_policy("preset:no-hassle")
R = Reason
BUSY = CustomerHistory(total_paid=30000, total_refunded=25000, order_count=6,
                       refunds_recent_count=9, refunds_recent_amount=99000,
                       not_received_claims=0)
SOLD_IN = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK",
           "NZD", "SGD", "HKD", "MXN", "BRL", "INR", "KWD")


@pytest.mark.parametrize("reason", [R.DAMAGED, R.DEFECTIVE, R.WRONG_ITEM, R.NOT_AS_DESCRIBED,
                                    R.NOT_RECEIVED])
def test_a_request_wholly_our_fault_is_never_an_abuse_signal(reason):
    d = evaluate(NO_HASSLE, order(history=BUSY), ask(("shirt", 1, reason)), NOW)
    abuse = next(r for r in d.trace if r.rule == "abuse")
    assert (d.outcome.value, d.reason_code, abuse.code, abuse.saw["signals"]) == (
        "approve", "approved", "our_fault_not_counted", [])


def test_the_same_customer_changing_their_mind_is_looked_at_with_every_figure():
    d = evaluate(NO_HASSLE, order(history=BUSY), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    abuse = next(r for r in d.trace if r.rule == "abuse")
    assert abuse.saw["findings"] == {
        "refund_count": "9 earlier refunds in 90 days, reviewed from 6 with 6 orders; "
                        "96.7% of 300.00 USD paid came back",
        "refund_amount": "990.00 USD refunded in 90 days + 40.00 USD now = 1030.00 USD, over "
                         "1000.00 USD; 96.7% of 300.00 USD paid came back",
        "refund_ratio": "250.00 USD of 300.00 USD paid came back (83.3%), over 60%",
    }
    assert abuse.message == (
        "As you have made several returns with us in the last 90 days, your refunds in the last "
        "90 days add up to a large amount and much of what you have bought from us has come "
        "back, a member of our team will look at this one personally; this is a routine check, "
        "not a refusal.")


def test_a_third_missing_parcel_is_looked_at_and_said_so_kindly():
    d = evaluate(NO_HASSLE, order(history=CustomerHistory(not_received_claims=2)),
                 ask(("shirt", 2, R.NOT_RECEIVED)), NOW)
    assert "recent returns" not in d.explanation
    assert d.explanation.startswith(
        "Thank you. Your return of 2 × Linen shirt needs a quick check by our team. As this is "
        "not the first parcel of yours that has not arrived, a member of our team will look at "
        "this one personally; this is a routine check, not a refusal.")


@pytest.mark.parametrize(("orders", "paid", "refunded", "outcome"), [
    (53, 380500, 100000, "approve"),  # 53 orders, under 30% back: 6 refunds are nothing unusual
    (53, 380500, 130000, "approve"),  # over 30% back, but the limit grew to 5 + 53 // 5 = 15
    (6, 30000, 10000, "review"),      # a new customer with 6 refunds and a third back
])
def test_the_count_signal_scales_with_lifetime_orders_and_value(orders, paid, refunded,
                                                                outcome):
    history = CustomerHistory(total_paid=paid, total_refunded=refunded, order_count=orders,
                              refunds_recent_count=6, refunds_recent_amount=9000)
    d = evaluate(NO_HASSLE, order(history=history), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert d.outcome.value == outcome


def test_store_credit_counts_only_when_the_policy_says_so():
    history = CustomerHistory(total_paid=10000, total_credited=7000, order_count=3,
                              credits_recent_count=6, credits_recent_amount=7000)
    Expect("approve", "approved", refund=4000).check(
        evaluate(NO_HASSLE, order(history=history), ask(("shirt", 1, R.CHANGED_MIND)), NOW))
    counting = load_policy_text_with("count_store_credit: true")
    d = evaluate(counting, order(history=history), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert next(r for r in d.trace if r.rule == "abuse").saw["signals"] == [
        "refund_count", "refund_ratio"]


def load_policy_text_with(line: str) -> Policy:
    """no-hassle with one line of its abuse section changed."""
    text = (resources.files("policies") / "presets" / "no-hassle.yaml").read_text("utf-8")
    return load_policy_text(text.replace("  count_store_credit: false", f"  {line}"), "x.yaml")


@pytest.mark.parametrize("preset", ["no-hassle", "standard-30-day", "credit-first"])
def test_every_amount_rule_of_a_preset_covers_the_common_currencies(preset):
    pol = load_policy(f"preset:{preset}")
    missing = {key: [c for c in SOLD_IN if table.get(c) is None]
               for key, table in pol.amount_tables()}
    assert {k: v for k, v in missing.items() if v} == {}


def test_a_cheap_jpy_item_is_kept_under_no_hassle():
    pin = OrderLine("pin", "PIN-1", "Enamel pin", 2, 1500)
    d = evaluate(NO_HASSLE, order(lines=(pin,), shipping=500, currency="JPY",
                                  payments=(PaymentFacts("stripe", "pi_1", 3500),)),
                 ask(("pin", 1, R.CHANGED_MIND)), NOW)
    Expect("approve", "approved", refund=1500, return_required=False).check(d)


def test_a_first_large_return_is_not_told_its_earlier_refunds_add_up():
    lamp = OrderLine("lamp", "LAMP-1", "Lamp", 1, 150000)
    first = CustomerHistory(total_paid=150000, order_count=1)
    d = evaluate(load_policy("preset:standard-30-day"), order(lines=(lamp,), shipping=0,
                 history=first), ask(("lamp", 1, R.CHANGED_MIND)), NOW)
    abuse = next(r for r in d.trace if r.rule == "abuse")

    assert (abuse.code, abuse.saw["signals"], abuse.saw["recent_amount"]) == (
        "abuse_signal", ["refund_amount"], 0)
    assert abuse.message == (
        "As this refund is a large amount, a member of our team will look at this one "
        "personally; this is a routine check, not a refusal.")
    assert "in the last 90 days" not in d.explanation
    assert render(abuse.message, "de") == (
        "Da es um einen hohen Betrag geht, sieht sich jemand aus unserem Team diese Rücksendung "
        "persönlich an; das ist eine Routineprüfung, keine Ablehnung.")
