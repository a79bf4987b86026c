"""An exchange after an order discount: the discount the customer got on the line carries over
to the item they swap to (its list price × paid / list, rounded down in the customer's favour),
so another size at the same list price costs nothing, a dearer one the discounted difference,
a cheaper one gives the discounted difference back; a line paid its list price is priced as
before."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from policies import evaluate, load_policy_text
from refunds_plugin.domain.decision import Decision, Exchange, carried
from refunds_plugin.domain.facts import OrderLine, PaymentFacts, ReturnLine, ReturnRequest, Variant
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.ledger.journal import plain
from tests.unit.policies.policy_builders import NOW, order

POLICY = load_policy_text("""
currency: USD
window: {days: 30}
resolution: {allow: [refund, credit, exchange]}
exchange: {price_difference: {lower: refund, higher: charge}}
""", "discount-test")
SHIRT_L = Variant("SHIRT-L", "Shirt L", 5000, True, "vL")
SHIRT_XL = Variant("SHIRT-XL", "Shirt XL", 6000, True, "vXL")
SHIRT_S = Variant("SHIRT-S", "Shirt S", 4500, True, "vS")
SIZES = (SHIRT_L, SHIRT_XL, SHIRT_S)
# shirt M listed 50.00, bought at 40.00 with a 20% code (the storefront's spread total)
DISCOUNTED = OrderLine("m", "SHIRT-M", "Shirt M", 1, 5000, total_amount=4000, variants=SIZES)
FULL_PRICE = OrderLine("m", "SHIRT-M", "Shirt M", 1, 5000, variants=SIZES)


def swap(line: OrderLine, item: Variant, quantity: int = 1) -> Decision:
    facts = order(lines=(line,), shipping=0, payments=(PaymentFacts("stripe", "pi_1",
                                                                    line.amount),))
    req = ReturnRequest("ret-1", "1001", (ReturnLine("m", quantity, Reason.TOO_SMALL, item),))
    return evaluate(POLICY, facts, req, NOW)


def _money(d: Decision) -> tuple[int, int, int, int, int, int, str]:
    ex = d.exchange
    assert ex is not None
    return (ex.out_amount, ex.in_amount, ex.difference, ex.back, ex.charge, d.refund_amount,
            d.outcome.value)


def _price_said(d: Decision) -> str:
    return next(r.message for r in d.trace if r.rule == "exchange_price")


def test_the_same_list_price_after_a_20_percent_code_costs_nothing() -> None:
    d = swap(DISCOUNTED, SHIRT_L)

    assert _money(d) == (4000, 4000, 0, 0, 0, 0, "approve")
    assert _price_said(d) == "The new item costs the same: nothing to pay, nothing back."
    assert "more" not in d.explanation


def test_a_dearer_size_costs_the_discounted_difference() -> None:
    d = swap(DISCOUNTED, SHIRT_XL)  # 60.00 list, 48.00 with the code carried over

    assert _money(d) == (4000, 4800, 800, 0, 800, 0, "approve")
    assert _price_said(d) == ("The new item costs 8.00 USD more: you pay 8.00 USD. Your "
                              "exchange goes ahead once you have paid.")


def test_a_cheaper_size_gives_the_discounted_difference_back() -> None:
    d = swap(DISCOUNTED, SHIRT_S)  # 45.00 list, 36.00 with the code carried over

    assert _money(d) == (4000, 3600, -400, 400, 0, 400, "approve")
    assert _price_said(d) == ("The new item costs 4.00 USD less; that difference comes back to "
                              "your original payment.")


@pytest.mark.parametrize(("item", "expected"), [
    (SHIRT_L, (5000, 5000, 0, 0, 0, 0, "approve")),
    (SHIRT_XL, (5000, 6000, 1000, 0, 1000, 0, "approve")),
    (SHIRT_S, (5000, 4500, -500, 500, 0, 500, "approve")),
])
def test_a_line_paid_its_list_price_is_priced_as_before(
    item: Variant, expected: tuple[object, ...],
) -> None:
    d = swap(FULL_PRICE, item)
    assert _money(d) == expected
    assert d.exchange is not None and d.exchange.lines[0].out_list is None
    # stored as before: no new field in the decision's body
    assert "out_list" not in json.dumps(plain(d.exchange))


def test_a_line_stating_its_list_total_is_priced_as_before() -> None:
    stated = replace(FULL_PRICE, total_amount=5000)
    assert _money(swap(stated, SHIRT_XL)) == (5000, 6000, 1000, 0, 1000, 0, "approve")


def test_the_odd_minor_unit_rounds_in_the_customers_favour_and_survives_storage() -> None:
    # 3 shirts listed 33.33 paid 90.00 together (a code), 30.00 a unit: a 60.00 swap costs
    # 60.00 × 30.00 / 33.33 = 54.0054… → 54.00, rounded down (half up would be 54.01)
    line = OrderLine("m", "SHIRT-M", "Shirt M", 3, 3333, total_amount=9000, variants=SIZES)
    d = swap(line, SHIRT_XL)
    assert _money(d) == (3000, 5400, 2400, 0, 2400, 0, "approve")
    assert carried(6000, 3000, 3333) == 5400
    stored = json.loads(json.dumps(plain(d.exchange)))
    assert stored["lines"][0]["out_list"] == 3333
    assert Exchange.from_dict(stored).in_amount == 5400


# the same sizes while a 20% promotion runs on them: sold at 40.00, 48.00 and 36.00
ON_PROMOTION = tuple(replace(v, unit_amount=v.unit_amount * 4 // 5, list_amount=v.unit_amount)
                     for v in SIZES)


@pytest.mark.parametrize(("item", "expected"), [
    # bought in that promotion: its 20% carried over, not taken a second time
    (ON_PROMOTION[0], (4000, 4000, 0, 0, 0, 0, "approve")),
    (ON_PROMOTION[1], (4000, 4800, 800, 0, 800, 0, "approve")),
    (ON_PROMOTION[2], (4000, 3600, -400, 400, 0, 400, "approve")),
])
def test_a_promotion_running_on_the_new_item_is_not_taken_twice(
    item: Variant, expected: tuple[object, ...],
) -> None:
    d = swap(replace(DISCOUNTED, variants=ON_PROMOTION), item)
    assert _money(d) == expected
    stored = json.loads(json.dumps(plain(d.exchange)))
    assert (stored["lines"][0]["unit_amount"], stored["lines"][0]["in_list"]) == (
        item.unit_amount, item.list_amount)
    assert Exchange.from_dict(stored).in_amount == expected[1]


def test_a_line_paid_its_list_price_swaps_at_what_the_promotion_sells_for() -> None:
    d = swap(replace(FULL_PRICE, variants=ON_PROMOTION), ON_PROMOTION[1])
    assert _money(d) == (5000, 4800, -200, 200, 0, 200, "approve")


def test_a_smaller_code_than_the_promotion_costs_no_more_than_the_promotion_price() -> None:
    # bought at 45.00 (a 10% code): the new size at 90% of its list, but never above the 40.00
    # the promotion sells it for today
    line = replace(DISCOUNTED, total_amount=4500, variants=ON_PROMOTION)
    assert _money(swap(line, ON_PROMOTION[0])) == (4500, 4000, -500, 500, 0, 500, "approve")
