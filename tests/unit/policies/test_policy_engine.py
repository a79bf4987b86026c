"""The engine's general rules, independent of any preset: malformed requests, money limits,
payments, windows, tiers, fees and the shape of the decision."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from policy_builders import NOW, SHIRT, TOTAL, ask, order

from policies import evaluate, load_policy, load_policy_text
from policies.policy import percent_of
from policies.tiers import months_as_customer, projected_value
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import (
    CustomerHistory,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.language.said import render, said_again
from refunds_plugin.money import Money

R = Reason
DEFAULT = load_policy("preset:default")


def policy(body: str):
    return load_policy_text("currency: USD\n" + body, "test")


def refunds(d: Decision) -> list[tuple[str | None, int]]:
    return [(r.payment_reference, r.amount) for r in d.resolutions
            if r.kind is ResolutionKind.REFUND]


def test_an_unknown_line_is_declined_and_nothing_is_paid():
    d = evaluate(DEFAULT, order(), ask(("hat", 1, R.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("decline", "unknown_line", ())
    assert "no item hat" in d.explanation


def test_units_already_returned_cannot_be_returned_again():
    d = evaluate(DEFAULT, order(returned=(("shirt", 1),)), ask(("shirt", 2, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount) == ("decline",
                                                          "quantity_exceeds_remaining", 0)
    [said_it] = [t.message for t in d.trace if t.code == "quantity_exceeds_remaining"]
    # the item's name first, as the shop wrote it: never "Only 1 of Linen shirt"
    assert said_it == "Linen shirt: only 1 can still be returned, not 2."
    assert render(said_it, "de") == "Linen shirt: Sie können nur noch 1 zurückgeben, nicht 2."
    assert render(said_it, "fr") == ("Linen shirt\u00a0: vous ne pouvez plus en retourner que 1, "
                                     "et non 2.")
    assert render(said_it, "es") == "Linen shirt: ya solo puedes devolver 1, no 2."


def test_a_decision_stored_with_the_earlier_words_keeps_them_in_every_language():
    # its English words are in its journal entry (hashed), its message id beside it: the id
    # stays in the catalogues, so it reads as it did, in the reader's language
    text = "Only 1 of Linen shirt can still be returned, not 2."
    stored = json.dumps({"m": "Only {left} of {name} can still be returned, not {qty}.",
                         "p": {"left": 1, "name": "Linen shirt", "qty": 2}})
    assert said_again(text, stored, "en") == text
    assert said_again(text, stored, "de") == ("Von Linen shirt können nur noch 1 zurückgegeben "
                                              "werden, nicht 2.")
    assert said_again(text, stored, "fr") == ("Seuls 1 de Linen shirt peuvent encore être "
                                              "retournés, et non 2.")
    assert said_again(text, stored, "es") == "Solo se pueden devolver 1 de Linen shirt, no 2."
    # the wording before that one (changed on 2026-12-05)
    text = "Linen shirt has already been returned."
    stored = json.dumps({"m": "{name} has already been returned.", "p": {"name": "Linen shirt"}})
    assert [said_again(text, stored, lang) for lang in ("en", "de", "fr", "es")] == [
        text, "Linen shirt wurde bereits zurückgesendet.", "Linen shirt a déjà été retourné.",
        "Linen shirt ya se ha devuelto."]


def test_every_unit_already_asked_for_says_a_return_was_requested_not_that_it_came_back():
    # ``returned`` counts approved and in-review returns, received or not: "requested" is true
    # of each, so the policy says that, in the words (and translations) the returns page uses
    d = evaluate(DEFAULT, order(returned=(("shirt", 2),)), ask(("shirt", 1, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount) == ("decline",
                                                          "quantity_exceeds_remaining", 0)
    [said_it] = [t.message for t in d.trace if t.code == "quantity_exceeds_remaining"]
    assert said_it == "A return has already been requested for Linen shirt."
    assert "has already been returned" not in d.explanation
    assert render(said_it, "de") == "Für Linen shirt wurde bereits eine Rücksendung beantragt."
    assert render(said_it, "fr") == "Un retour a déjà été demandé pour Linen shirt."
    assert render(said_it, "es") == "Ya se ha solicitado la devolución de Linen shirt."


def test_the_same_line_twice_is_declined_never_merged():
    # the service refuses it before the policy runs (intake.request_check); evaluated directly
    # (simulate, explain) it is declined, as two entries would each be valued as if first
    req = ask(("shirt", 1, R.TOO_SMALL), ("shirt", 1, R.DAMAGED))
    d = evaluate(DEFAULT, order(), req, NOW)
    assert (d.outcome.value, d.reason_code, d.resolutions) == ("decline", "duplicate_line", ())


def test_a_zero_quantity_is_declined():
    d = evaluate(DEFAULT, order(), ask(("shirt", 0, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code) == ("decline", "invalid_quantity")


def test_a_request_for_another_order_is_declined():
    req = ReturnRequest("r", "2002", (ReturnLine("shirt", 1, R.TOO_SMALL),))
    assert evaluate(DEFAULT, order(), req, NOW).reason_code == "order_mismatch"


def test_an_empty_request_is_declined():
    req = ReturnRequest("r", "1001", ())
    assert evaluate(DEFAULT, order(), req, NOW).reason_code == "empty_request"


def test_an_order_already_fully_refunded_is_declined():
    facts = order(payments=(PaymentFacts("stripe", "pi_1", TOTAL, refunded=TOTAL),))
    d = evaluate(DEFAULT, facts, ask(("shirt", 1, R.DAMAGED)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount) == ("decline", "nothing_refundable", 0)
    assert d.explanation == ("We're sorry, we can't accept this return. Everything paid for "
                             "this order has already been refunded.")


def test_an_order_with_no_payment_recorded_goes_to_a_person_and_is_not_called_refunded():
    d = evaluate(DEFAULT, order(payments=()), ask(("shirt", 1, R.DAMAGED)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount, d.resolutions) == (
        "review", "payment_not_received", 0, ())
    assert [(t.rule, t.verdict, t.code) for t in d.trace if t.rule in ("payment",
                                                                        "refundable_cap")] == [
        ("payment", "review", "payment_not_received"),
        ("refundable_cap", "review", "exceeds_refundable")]
    assert "We have not received the payment for this order yet; a person will look at your " \
        "return. Until the payment reaches us there is nothing to refund from it, so our team " \
        "will confirm the amount." in d.explanation
    assert "refunded" not in d.explanation


def test_a_free_order_whose_lines_name_their_list_price_is_approved_with_nothing_to_refund():
    # a source that keeps the lines at their list price (no line total) with a 100% code: the
    # order's total is 0 and nothing was captured, so the items are worth what was paid: 0
    free = replace(order(payments=()), total_amount=0)  # shipping too at its list price
    d = evaluate(DEFAULT, free, ask(("shirt", 2, R.DAMAGED)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount, d.resolutions) == (
        "approve", "approved", 0, ())
    assert [(t.rule, t.verdict, t.code) for t in d.trace
            if t.rule in ("payment", "refundable_cap")] == [("payment", "pass", "free_order")]
    assert d.explanation == ("Your return of 2 × Linen shirt is approved. This order was "
                             "free, so there is no money to return. Please send back: "
                             "2 × Linen shirt.")


def test_a_free_order_sent_to_a_person_for_its_items_still_says_there_is_no_money():
    free = replace(order(payments=(), shipping=0, days=400), total_amount=0)
    d = evaluate(policy("window: {days: 30, outside: review}\n"), free,
                 ask(("shirt", 1, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount) == ("review", "outside_window_review", 0)
    assert "This order was free, so there is no money to return." in d.explanation


def test_a_refund_is_spread_over_payments_in_order():
    pays = (PaymentFacts("stripe", "pi_1", 3000), PaymentFacts("stripe", "pi_2", TOTAL - 3000))
    d = evaluate(DEFAULT, order(payments=pays), ask(("shirt", 2, R.TOO_SMALL)), NOW)
    assert refunds(d) == [("pi_1", 3000), ("pi_2", 5000)]


def test_money_already_on_its_way_caps_the_refund_and_sends_it_to_review():
    pays = (PaymentFacts("stripe", "pi_1", TOTAL, pending=TOTAL - 1000),)
    d = evaluate(DEFAULT, order(payments=pays), ask(("shirt", 1, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code, refunds(d)) == ("review", "exceeds_refundable",
                                                            [("pi_1", 1000)])


def test_a_disputed_payment_is_skipped_and_the_decision_reviewed():
    pays = (PaymentFacts("stripe", "pi_1", 5000, disputed=True),
            PaymentFacts("stripe", "pi_2", TOTAL - 5000))
    d = evaluate(DEFAULT, order(payments=pays), ask(("shirt", 1, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code, refunds(d)) == ("review", "payment_disputed",
                                                            [("pi_2", 4000)])


def test_restocking_fees_round_half_even_to_the_minor_unit():
    pol = policy("window: {days: 30}\nfees: {restocking_percent: 10}\n")
    lines = (OrderLine("a", "A", "A", 1, 4005), OrderLine("b", "B", "B", 1, 4015))
    facts = order(lines=lines)
    fee_a = evaluate(pol, facts, ask(("a", 1, R.CHANGED_MIND)), NOW).fees
    fee_b = evaluate(pol, facts, ask(("b", 1, R.CHANGED_MIND)), NOW).fees
    assert [(f.code, f.amount) for f in fee_a + fee_b] == [("restocking", 400),
                                                           ("restocking", 402)]


def test_a_return_shipping_fee_never_exceeds_the_item():
    pol = policy('window: {days: 30}\nfees: {return_shipping: "10.00"}\n')
    facts = order(lines=(OrderLine("a", "A", "A", 1, 600), SHIRT))
    d = evaluate(pol, facts, ask(("a", 1, R.CHANGED_MIND)), NOW)
    assert ([(f.code, f.amount) for f in d.fees], d.amount) == ([("return_shipping", 600)], 0)


def test_without_a_delivery_date_the_window_counts_from_fulfilment():
    pol = policy("window: {days: 30, start: delivery}\n")
    facts = replace(order(days=29), delivered_at=None, fulfilled_at=NOW - timedelta(days=31))
    d = evaluate(pol, facts, ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    window = next(r for r in d.trace if r.rule == "window")
    assert (d.reason_code, window.saw["from"], window.saw["age_days"]) == (
        "outside_window", "fulfilment", 31)


def test_a_sku_override_beats_a_tag_override():
    pol = policy("window:\n  days: 30\n  overrides:\n    - {tag: gift, days: 90}\n"
                 "    - {sku: GIFT-1, days: 10}\n")
    facts = order(days=20, lines=(OrderLine("g", "GIFT-1", "Gift", 1, 1000, tags=("gift",)),))
    d = evaluate(pol, facts, ask(("g", 1, R.CHANGED_MIND)), NOW)
    window = next(r for r in d.trace if r.rule == "window")
    assert (d.reason_code, window.saw["days"], window.saw["set_by"]) == (
        "outside_window", 10, "sku:GIFT-1")


def test_a_collection_override_can_give_a_lifetime_guarantee():
    pol = policy("window:\n  days: 30\n  overrides:\n"
                 "    - {collection: forever, days: unlimited}\n")
    facts = order(days=3000, lines=(OrderLine("k", "K", "Knife", 1, 9000,
                                              collections=("forever",)),))
    d = evaluate(pol, facts, ask(("k", 1, R.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.refund_amount) == ("approve", 9800)


def test_a_tier_with_unlimited_extra_days_removes_the_window():
    pol = policy("window: {days: 30}\ntiers:\n  - {name: vip, min_orders: 10, "
                 "extra_window_days: unlimited}\n")
    vip = CustomerHistory(order_count=10, total_paid=1)
    d = evaluate(pol, order(days=400, history=vip), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert (d.outcome.value, d.refund_amount) == ("approve", 4000)


def test_lifetime_value_is_typical_purchase_times_orders_a_year_times_expected_years():
    history = CustomerHistory(total_paid=60000, order_count=12,
                              first_order_at=NOW - timedelta(days=730))
    months = months_as_customer(history, NOW)
    # 5000 a purchase x 6 orders a year x 3 years
    assert (months, projected_value(history, months, 3)) == (24, 90000)


def test_a_new_customer_counts_as_one_year_so_one_order_is_not_a_habit():
    history = CustomerHistory(total_paid=20000, order_count=1,
                              first_order_at=NOW - timedelta(days=10))
    assert projected_value(history, months_as_customer(history, NOW), 3) == 60000


def test_the_decision_is_stamped_with_the_policy_and_survives_json():
    d = evaluate(DEFAULT, order(), ask(("shirt", 1, R.DAMAGED)), NOW)
    assert (d.policy_name, d.policy_hash, d.kind.value) == ("default", DEFAULT.content_hash,
                                                            "return")
    assert Decision.from_dict(json.loads(json.dumps(d.to_dict()))) == d


def test_every_rule_is_in_the_trace_in_order():
    pol = load_policy("preset:standard-30-day")
    d = evaluate(pol, order(), ask(("shirt", 1, R.CHANGED_MIND)), NOW)
    assert [r.rule for r in d.trace] == [
        "request_lines", "payment", "tier", "window", "final_sale", "reason", "refund_period",
        "keep_item", "fees", "shipping", "limits", "abuse", "resolution"]


@given(st.integers(0, 10**12), st.decimals(min_value=0, max_value=100, places=3))
def test_the_fast_percentage_always_agrees_with_money_percent(minor, pct):
    assert percent_of(minor, pct) == Money(minor, "USD").percent(pct).minor


# 3 × 81.67 shown, 245.00 charged: an order voucher's share rounded into the unit price (Saleor)
VOUCHERED = OrderLine("bowl", "BOWL-1", "Bowl", 3, 8167, total_amount=24500)


def test_a_line_total_splits_into_floor_shares_and_the_last_unit_takes_the_remainder():
    assert [VOUCHERED.units_amount(1, before) for before in (0, 1, 2)] == [8166, 8166, 8168]
    assert (VOUCHERED.units_amount(3), VOUCHERED.units_amount(2, 1), VOUCHERED.amount) == (
        24500, 16334, 24500)
    assert SHIRT.units_amount(1, 1) == 4000  # no line total: unit × quantity as before


def test_all_units_of_a_vouchered_line_refund_the_line_total_not_unit_times_quantity():
    facts = order(lines=(VOUCHERED,), shipping=0)
    d = evaluate(DEFAULT, facts, ask(("bowl", 3, R.TOO_SMALL)), NOW)
    assert (d.outcome.value, d.reason_code, refunds(d)) == ("approve", "approved",
                                                            [("pi_1", 24500)])
    after_one = evaluate(DEFAULT, order(lines=(VOUCHERED,), shipping=0, returned=(("bowl", 1),)),
                         ask(("bowl", 2, R.TOO_SMALL)), NOW)
    assert refunds(after_one) == [("pi_1", 16334)]


def test_asking_more_than_was_paid_with_nothing_refunded_does_not_say_part_was_refunded():
    facts = order(payments=(PaymentFacts("stripe", "pi_1", 1000),))
    d = evaluate(DEFAULT, facts, ask(("shirt", 1, R.TOO_SMALL)), NOW)
    [cap] = [r for r in d.trace if r.code == "exceeds_refundable"]
    assert cap.message == ("This is more than the order's payment holds, so our team will "
                           "confirm the amount.")
    on_way = evaluate(DEFAULT, order(payments=(PaymentFacts("stripe", "pi_1", TOTAL,
                                                            pending=TOTAL - 1000),)),
                      ask(("shirt", 1, R.TOO_SMALL)), NOW)
    [cap] = [r for r in on_way.trace if r.code == "exceeds_refundable"]
    assert cap.message.startswith("Part of this order's payment is already refunded")


def test_a_request_refused_on_every_line_names_each_lines_reason_once():
    thirty = policy("window: {days: 30, start: delivery}\n")
    d = evaluate(thirty, order(days=64), ask(("socks", 1, R.CHANGED_MIND),
                                             ("shirt", 1, R.DAMAGED)), NOW)
    assert (d.outcome.value, d.reason_code, d.amount) == ("decline", "outside_window", 0)
    assert d.explanation == (
        "We're sorry, we can't accept this return. The 30-day return window for Wool socks "
        "has passed (64 days since delivery). The 30-day return window for Linen shirt has "
        "passed (64 days since delivery).")
