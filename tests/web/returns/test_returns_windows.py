"""Each line on the returns form states its true situation today: open until a date, closed
since a date (and what the policy still offers), or final sale, returnable only for our
mistakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event

DEC_4 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LINES = [
    {"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 2, "unit_amount": 2500},
    {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000,
     "tags": ["final-sale"]},
]
FINAL_SALE = ("Final sale: this item can be returned only if something went wrong on our side "
              "(it arrived damaged, does not work, is the wrong item, is not as described, or "
              "never arrived).")


@pytest.fixture
def shops(sqlite_url: str, tmp_path: Path) -> Iterator[object]:
    made: list[ReturnsShop] = []

    def make(now: datetime, outside: str = "decline",
             delivered: str = "2026-11-04T15:00:00Z") -> ReturnsShop:
        text_ = resources.files("policies").joinpath("presets", "standard-30-day.yaml").read_text()
        path = tmp_path / f"policy-{outside}.yaml"
        path.write_text(text_.replace("outside: decline", f"outside: {outside}"), "utf-8")
        shop = ReturnsShop(sqlite_url, lambda: now, {"policy": str(path)})
        shop.seed(order_event("1001", delivered_at=delivered, paid_at="2026-08-18T10:00:00Z",
                              lines=LINES))
        made.append(shop)
        return shop

    yield make
    for s in made:
        s.close()


def test_a_line_inside_its_window_says_until_when_and_a_final_sale_line_says_what_it_takes(
    shops: object,
) -> None:
    shop = shops(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # type: ignore[operator]

    form = open_form(shop.app.test_client())

    assert words(form, "when", attr="class") == [
        "You can return this until 5 December 2026, 14:59 UTC.",  # delivered at 15:00
        f"{FINAL_SALE} For those, you can return it until 5 December 2026, 14:59 UTC.",
    ]
    assert "ended on" not in text(form)


def test_the_final_sale_line_is_still_taken_back_when_it_arrived_damaged(
    shops: object,
) -> None:
    shop = shops(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # type: ignore[operator]
    client = shop.app.test_client()

    answer = submit(client, open_form(client), **{"line-1-qty": "1", "line-1-reason": "damaged"})

    assert words(answer, "outcome") == ["Your return is approved"]
    assert words(answer, "amount") == ["Refund to your original payment: 45.00 USD"]


@pytest.mark.parametrize(("outside", "tail"), [
    ("decline", ""),
    ("credit", " You can still send it back for store credit."),
    ("review", " You can still ask: our team will look at it."),
])
def test_a_line_past_its_window_says_since_when_it_is_closed_and_what_is_still_possible(
    shops: object, outside: str, tail: str,
) -> None:
    shop = shops(DEC_4, outside, delivered="2026-08-20T12:00:00Z")  # type: ignore[operator]

    form = open_form(shop.app.test_client())

    closed = f"The return window for this item ended on 20 September 2026, 11:59 UTC.{tail}"
    assert words(form, "when", attr="class") == [closed, closed]
    assert "You can return this until" not in text(form)
