"""Good customers are not suspects: what the ledger counts towards the abuse signals, through
the real storefront endpoint on SQLite and PostgreSQL.

Our own mistakes, store credit (unless the policy says otherwise) and requests still waiting
for a person never count against a customer's next return; finance sees which signal fired and
its figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.finance.reports import recent_decisions
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import decisions, reviews
from tests.fakes.shop import Shop

NO_HASSLE = "preset:no-hassle"
MakeShop = Callable[..., Shop]


@pytest.fixture
def make_shop(any_db_url: str, now: datetime) -> Iterator[MakeShop]:
    """Shops on the test's ledger with a policy each; their connections closed at the end."""
    made: list[Shop] = []

    def make(policy: str = NO_HASSLE) -> Shop:
        made.append(Shop(any_db_url, now, policy=policy))
        made[-1]._n = 100 * len(made)  # each its own event ids on the same ledger
        return made[-1]

    yield make
    for shop in made:
        shop.runtime.engine.dispose()


def _abuse(shop: Shop, order_id: str) -> dict[str, Any]:
    """The abuse rule's answer in the decision recorded for ``order_id``."""
    with shop.runtime.engine.connect() as conn:
        body = conn.execute(select(decisions.c.body).where(decisions.c.order_id == order_id)
                            ).scalar_one()
    return next(r for r in json.loads(body)["trace"] if r["rule"] == "abuse")


def _ask(shop: Shop, order_id: str, reason: str, prefer: str = "refund") -> dict[str, Any]:
    return shop.send("return.requested", {"return": {
        "id": f"r-{order_id}", "order_id": order_id, "preferred_resolution": prefer,
        "lines": [{"line_id": "l1", "quantity": 1, "reason": reason}]}})


def _outcome(answer: dict[str, Any]) -> tuple[str, str, int, int]:
    return (answer["outcome"], answer["reason_code"], answer["refund_amount"],
            answer["credit_amount"])


def test_earlier_returns_wholly_our_fault_do_not_count(make_shop: MakeShop) -> None:
    shop = make_shop(NO_HASSLE)
    for n in range(6):
        shop.order(f"o{n}", 5000, "ann@example.com", currency="USD")
    for n, reason in enumerate(("damaged", "defective", "wrong_item", "not_as_described",
                                "damaged")):
        assert _ask(shop, f"o{n}", reason)["outcome"] == "approve"

    sixth = _ask(shop, "o5", "changed_mind")

    # before: 5 refunds in 90 days and 250.00 of 300.00 refunded sent it to a person
    assert _outcome(sixth) == ("approve", "approved", 5000, 0)
    saw = _abuse(shop, "o5")["saw"]
    assert (saw["recent_count"], saw["total_refunded"], saw["signals"]) == (0, 0, [])


def test_store_credit_is_not_money_refunded_unless_the_policy_says_so(
    make_shop: MakeShop, tmp_path: Path
) -> None:
    shop = make_shop(NO_HASSLE)
    for n in range(3):
        shop.order(f"o{n}", 10000, "ann@example.com", currency="USD")
    for n in range(2):
        assert _outcome(_ask(shop, f"o{n}", "changed_mind", "credit")) == (
            "approve", "approved", 0, 10000)

    third = _ask(shop, "o2", "changed_mind")

    # before: 200.00 of 300.00 "refunded" (67%, over 60%) sent it to a person
    assert _outcome(third) == ("approve", "approved", 10000, 0)
    counting = Path(tmp_path / "counting.yaml")
    counting.write_text(
        "window: {days: unlimited}\n"
        "abuse: {max_refund_ratio_percent: 60, count_store_credit: true}\n", encoding="utf-8")
    strict = make_shop(str(counting))
    strict.order("o3", 10000, "ann@example.com", currency="USD")
    answer = _ask(strict, "o3", "changed_mind")
    assert _outcome(answer) == ("review", "abuse_signal", 10000, 0)
    assert _abuse(strict, "o3")["saw"]["findings"] == {
        "refund_ratio": "300.00 USD of 400.00 USD paid came back (75.0%), over 60%"}


def test_a_request_waiting_for_a_person_does_not_count_until_approved(
    make_shop: MakeShop, tmp_path: Path
) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text('currency: USD\nwindow: {days: unlimited}\n'
                    'limits: {auto_approve_per_request: "40.00"}\n'
                    'abuse: {max_refunds: 1}\n', encoding="utf-8")
    shop = make_shop(str(path))
    for n, amount in enumerate((5000, 3000, 3000)):
        shop.order(f"o{n}", amount, "ann@example.com", currency="USD")
    assert _outcome(_ask(shop, "o0", "changed_mind")) == ("review", "above_request_limit",
                                                          5000, 0)

    # before: the open review counted as a refund, so this one was reviewed on "1 refund"
    assert _outcome(_ask(shop, "o1", "changed_mind")) == ("approve", "approved", 3000, 0)

    with shop.runtime.engine.connect() as conn:
        first = conn.execute(select(decisions.c.id).where(decisions.c.order_id == "o0")
                             ).scalar_one()
    decide(shop.runtime.engine, shop.runtime.service, first, approve=True, by="ann",
           note="fine", now=shop.now)
    third = _ask(shop, "o2", "changed_mind")
    assert _outcome(third) == ("review", "abuse_signal", 3000, 0)
    assert _abuse(shop, "o2")["saw"]["findings"] == {
        "refund_count": "2 earlier refunds in 90 days, reviewed from 1 with 3 orders"}


def test_finance_sees_the_signal_and_its_figures_the_customer_a_kind_sentence(
    make_shop: MakeShop
) -> None:
    shop = make_shop(NO_HASSLE)
    for n in range(3):
        shop.order(f"o{n}", 10000, "ann@example.com", currency="USD")
    _ask(shop, "o0", "changed_mind")
    _ask(shop, "o1", "changed_mind")

    answer = _ask(shop, "o2", "too_small")

    assert _outcome(answer) == ("review", "abuse_signal", 10000, 0)
    assert answer["explanation"] == (
        "Thank you. Your return of 1 × Shirt needs a quick check by our team. As much of what "
        "you have bought from us has come back, a member of our team will look at this one "
        "personally; this is a routine check, not a refusal. Dry run: if it is approved, we "
        "would refund 100.00 USD to your original payment; no money moves. Once it is approved, "
        "we will ask you to send back Shirt.")  # the shop is in dry run
    why = "abuse_signal: refund_ratio: 200.00 USD of 300.00 USD paid came back (66.7%), over 60%"
    rows = {r["order_id"]: r for r in recent_decisions(shop.runtime.engine)}
    assert (rows["o2"]["review_reason"], rows["o1"]["review_reason"]) == (why, "")
    with shop.runtime.engine.connect() as conn:
        assert conn.execute(select(reviews.c.reason)).scalar_one() == why


def test_a_customer_of_long_standing_is_not_reviewed_for_being_busy(
    make_shop: MakeShop
) -> None:
    """54 orders and 3,804.70 USD paid, 4% back: a seventh refund in 90 days is fine."""
    shop = make_shop(NO_HASSLE)
    for n in range(47):
        shop.order(f"old{n}", 7760, "bo@example.com", currency="USD", paid_days_ago=400 - n)
    for n in range(6):
        shop.order(f"o{n}", 2250, "bo@example.com", currency="USD", paid_days_ago=20 - n)
    for n in range(6):
        assert _ask(shop, f"o{n}", "changed_mind")["outcome"] == "approve"
    shop.order("o6", 2250, "bo@example.com", currency="USD")

    seventh = _ask(shop, "o6", "changed_mind")

    assert _outcome(seventh) == ("approve", "approved", 2250, 0)
    saw = _abuse(shop, "o6")["saw"]
    assert (saw["orders"], saw["total_paid"], saw["recent_count"], saw["refund_count_limit"]) \
        == (54, 380470, 6, 15)


def _two_line_order(shop: Shop, order_id: str, email: str, amounts: tuple[int, int],
                    currency: str = "USD") -> None:
    paid = (shop.now - timedelta(days=3)).isoformat()
    shop.send("order.paid", {"order": {
        "id": order_id, "currency": currency, "paid_at": paid, "delivered_at": paid,
        "customer": {"id": f"cus_{email.split('@')[0]}", "email": email},
        "lines": [{"id": f"l{n + 1}", "sku": f"SKU{n}", "name": name, "quantity": 1,
                   "unit_amount": amount}
                  for n, (name, amount) in enumerate(zip(("Lamp", "Mug"), amounts, strict=True))],
        "shipping_amount": 0, "total_amount": sum(amounts),
        "payment": {"provider": "stripe", "reference": f"pay_{order_id}",
                    "amount": sum(amounts)},
    }})


def test_only_the_customer_reason_share_of_a_mixed_earlier_return_counts(
    make_shop: MakeShop
) -> None:
    shop = make_shop(NO_HASSLE)
    _two_line_order(shop, "o0", "ann@example.com", (8000, 2000))
    shop.order("o1", 5000, "ann@example.com", currency="USD")
    mixed = shop.send("return.requested", {"return": {
        "id": "r-o0", "order_id": "o0", "preferred_resolution": "refund",
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "damaged"},
                  {"line_id": "l2", "quantity": 1, "reason": "changed_mind"}]}})
    assert _outcome(mixed) == ("approve", "approved", 10000, 0)

    answer = _ask(shop, "o1", "changed_mind")

    # before: the whole 100.00 counted, the damaged lamp too: 66.7% of 150.00 came back
    assert _outcome(answer) == ("approve", "approved", 5000, 0)
    saw = _abuse(shop, "o1")["saw"]
    assert (saw["total_paid"], saw["total_refunded"], saw["recent_count"],
            saw["recent_amount"], saw["signals"]) == (15000, 2000, 1, 2000, [])


def test_amounts_in_another_currency_are_not_added_to_the_ratio(make_shop: MakeShop) -> None:
    """No exchange rates: a JPY refund neither adds to nor is divided by USD paid."""
    shop = make_shop(NO_HASSLE)
    shop.order("o0", 30000, "ann@example.com", currency="JPY")
    shop.order("o1", 10000, "ann@example.com", currency="USD")
    assert _outcome(_ask(shop, "o0", "changed_mind")) == ("approve", "approved", 30000, 0)

    answer = _ask(shop, "o1", "changed_mind")

    # before: 30000 "refunded" of 40000 "paid" (75%), JPY and USD summed as one number
    assert _outcome(answer) == ("approve", "approved", 10000, 0)
    saw = _abuse(shop, "o1")["saw"]
    assert (saw["total_paid"], saw["total_refunded"], saw["recent_count"],
            saw["recent_amount"], saw["orders"]) == (10000, 0, 1, 0, 2)
