"""A storefront order whose total is not its lines plus shipping (a discount code, tax on top):
each line is charged its share, so every refund is what the customer paid for that item; an
order whose amounts cannot add up, or dated ahead of our clock, is refused and nothing is kept."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import decisions, orders, refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

NOTHING = {"events": 0, "decisions": 0, "refund_attempts": 0, "ledger_entries": 0}
# two 50.00 shirts; a 20% code made the order 80.00
SHIRTS = [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 2, "unit_amount": 5000}]
# three 10.00 items and 5.00 shipping for 25.00: 20.00 over three lines does not divide
TRIO = [{"id": f"l{n}", "sku": f"S{n}", "name": f"Item {n}", "quantity": 1, "unit_amount": 1000}
        for n in (1, 2, 3)]


def paid(h: Harness, fake: FakeStripe, event: dict[str, Any]) -> None:
    """The order arrives signed, and Stripe holds its payment of the order's total."""
    total = event["data"]["order"]["total_amount"]
    fake.add_payment_intent(total, "usd", "pi_123")
    resp = h.post_storefront(event)
    assert resp.status_code == 200, resp.json


def stored_totals(h: Harness) -> list[tuple[str, int | None]]:
    [row] = h.rows(orders)
    return [(ln["id"], ln["total_amount"]) for ln in json.loads(row.lines)]


def ask(h: Harness, return_id: str, *lines: tuple[str, int]) -> dict[str, Any]:
    resp = h.post_storefront(return_requested(return_id, event_id=f"evt_{return_id}", lines=[
        {"line_id": line_id, "quantity": qty, "reason": "changed_mind"} for line_id, qty in lines]))
    assert resp.status_code == 201, resp.json
    h.drain()
    return resp.json or {}


def money_back(h: Harness, fake: FakeStripe) -> list[tuple[Any, ...]]:
    """Each decision's amount, its attempt's amount and what Stripe was asked to refund."""
    return [(d.amount, d.refund_amount, a.amount, a.status, r["amount"])
            for d, a, r in zip(h.rows(decisions), h.rows(refund_attempts), fake.refunds,
                               strict=True)]


def test_one_of_two_items_bought_with_a_20_percent_code_refunds_40_not_50(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    paid(harness, fake_stripe, order_paid(lines=SHIRTS, shipping=0, total=8000))

    answer = ask(harness, "r-1", ("l1", 1))

    assert stored_totals(harness) == [("l1", 8000)]
    assert (answer["outcome"], answer["amount"], answer["refund_amount"]) == ("approve", 4000,
                                                                               4000)
    assert money_back(harness, fake_stripe) == [(4000, 4000, 4000, "succeeded", 4000)]

    ask(harness, "r-2", ("l1", 1))  # the other shirt: together, exactly what was paid

    assert money_back(harness, fake_stripe) == [(4000, 4000, 4000, "succeeded", 4000)] * 2
    assert sum(r["amount"] for r in fake_stripe.refunds) == 8000


def test_the_whole_discounted_order_returned_refunds_exactly_its_total(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    paid(harness, fake_stripe, order_paid(lines=SHIRTS, shipping=0, total=8000))

    answer = ask(harness, "r-1", ("l1", 2))

    assert (answer["amount"], answer["refund_amount"]) == (8000, 8000)
    assert money_back(harness, fake_stripe) == [(8000, 8000, 8000, "succeeded", 8000)]


def test_a_discount_that_does_not_divide_is_spread_to_the_minor_unit_and_adds_up(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    paid(harness, fake_stripe, order_paid(lines=TRIO, shipping=500, total=2500))

    answer = ask(harness, "r-1", ("l1", 1), ("l2", 1), ("l3", 1))

    # 2000 over three equal lines: 666 each and 2 left, to the first two (ties: earlier line)
    assert stored_totals(harness) == [("l1", 667), ("l2", 667), ("l3", 666)]
    [decision] = harness.rows(decisions)
    assert [(ln["line_id"], ln["amount"]) for ln in json.loads(decision.body)["lines"]] == [
        ("l1", 667), ("l2", 667), ("l3", 666)]
    # every line back: the shipping too, so exactly the order's total
    assert (answer["amount"], answer["refund_amount"]) == (2500, 2500)
    assert money_back(harness, fake_stripe) == [(2500, 2500, 2500, "succeeded", 2500)]


def test_tax_added_on_top_raises_what_each_item_refunds(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    # 2 × 25.00 and 5.00 shipping, 10.00 tax on top: 65.00 paid, 60.00 of it for the mugs
    paid(harness, fake_stripe, order_paid(shipping=500, total=6500))

    answer = ask(harness, "r-1", ("l1", 1))

    assert stored_totals(harness) == [("l1", 6000)]
    assert (answer["amount"], answer["refund_amount"]) == (3000, 3000)
    assert money_back(harness, fake_stripe) == [(3000, 3000, 3000, "succeeded", 3000)]


def test_line_totals_the_storefront_sends_are_kept_and_the_rest_takes_what_is_left(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    lines = [{**SHIRTS[0], "total_amount": 9000},  # 10% off the shirts, said by the shop
             {"id": "l2", "sku": "CAP", "name": "Cap", "quantity": 1, "unit_amount": 2000}]
    paid(harness, fake_stripe, order_paid(lines=lines, shipping=500, total=11000))

    answer = ask(harness, "r-1", ("l1", 1), ("l2", 1))

    assert stored_totals(harness) == [("l1", 9000), ("l2", 1500)]
    assert (answer["amount"], answer["refund_amount"]) == (6000, 6000)
    assert money_back(harness, fake_stripe) == [(6000, 6000, 6000, "succeeded", 6000)]


def test_an_order_whose_lines_add_up_stores_no_line_totals(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    paid(harness, fake_stripe, order_paid())  # 2 × 25.00 + 5.00 = 55.00

    assert stored_totals(harness) == [("l1", None)]


def test_a_known_order_resent_with_a_discount_spreads_it_the_same_way(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    paid(harness, fake_stripe, order_paid(lines=SHIRTS, shipping=0, total=10000))

    resp = harness.post_storefront(order_paid(event_id="evt_paid_again", lines=SHIRTS,
                                              shipping=0, total=8000))

    assert resp.json is not None and resp.json["updated"] is True
    assert [(ln["id"], ln["total_amount"]) for ln in resp.json["changed"]["lines"]["after"]] == [
        ("l1", 8000)]
    assert resp.json["changed"]["total_amount"] == {"before": 10000, "after": 8000}
    assert stored_totals(harness) == [("l1", 8000)]
    assert ask(harness, "r-1", ("l1", 1))["refund_amount"] == 4000


REFUSED = [
    pytest.param(order_paid(shipping=500, total=400), "total_below_shipping",
                 "total_amount 400 is less than shipping_amount 500", id="total-below-shipping"),
    pytest.param(
        order_paid(lines=[{**SHIRTS[0], "total_amount": 9000}], shipping=0, total=8000),
        "line_totals_mismatch",
        "the lines' total_amount (9000) plus shipping_amount (0) is 9000, not the order's "
        "total_amount 8000", id="every-line-total-given-and-wrong"),
    pytest.param(
        order_paid(lines=[{**SHIRTS[0], "total_amount": 9000}, {**TRIO[1]}], shipping=0,
                   total=8000),
        "line_totals_mismatch",
        "the lines' own total_amount (9000) plus shipping_amount (0) is more than the order's "
        "total_amount 8000; send each line's total_amount", id="given-line-totals-over-total"),
    pytest.param(
        order_paid(lines=[{**SHIRTS[0], "unit_amount": 0}], shipping=0, total=100),
        "line_totals_mismatch",
        "the lines without a total_amount are all free, so the 100 left of the order's "
        "total_amount 100 cannot be spread over them; send each line's total_amount",
        id="nothing-to-spread-over"),
]


@pytest.mark.parametrize(("event", "code", "message"), REFUSED)
def test_an_order_whose_amounts_cannot_add_up_is_refused_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe, event: dict[str, Any], code: str, message: str
) -> None:
    resp = harness.post_storefront(event)

    assert (resp.status_code, resp.json) == (400, {"error": {"code": code, "message": message}})
    assert harness.money_rows() == NOTHING
    assert harness.rows(orders) == []
    assert fake_stripe.calls == []


@pytest.mark.parametrize("field", ["paid_at", "fulfilled_at", "delivered_at"])
def test_an_order_dated_more_than_five_minutes_ahead_is_refused_and_nothing_is_recorded(
    harness: Harness, fake_stripe: FakeStripe, field: str
) -> None:
    event = order_paid()  # the clock reads 2026-11-24 12:00 UTC
    event["data"]["order"][field] = "2026-11-24T12:05:01Z"

    resp = harness.post_storefront(event)

    assert (resp.status_code, resp.json) == (400, {"error": {
        "code": f"{field}_in_future",
        "message": f"{field} 2026-11-24T12:05:01+00:00 is in the future: later than the "
                   "service's clock (2026-11-24T12:00:00+00:00) by more than 5 minutes"}})
    assert harness.money_rows() == NOTHING
    assert harness.rows(orders) == []
    assert fake_stripe.calls == []


def test_an_order_dated_within_five_minutes_of_the_clock_is_taken(harness: Harness) -> None:
    event = order_paid(paid_at="2026-11-24T12:05:00Z")  # a storefront clock 5 minutes fast
    event["data"]["order"]["delivered_at"] = "2026-11-24T13:04:59+01:00"

    resp = harness.post_storefront(event)

    assert resp.status_code == 200, resp.json
    [row] = harness.rows(orders)
    assert (row.order_id, aware(row.paid_at)) == ("1001", harness.clock.now + timedelta(minutes=5))
