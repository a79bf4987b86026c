"""The deadline the returns page names is the last moment the policy still says yes (its day,
and its minute in UTC when it ends partway through a day): at that moment the page promises it
and the quote grants it; one microsecond later the page says it ended then and the quote no
longer grants it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.returns_client import open_form, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event

PAID = "2026-11-20T10:00:00Z"  # no delivery date: the windows count from the payment
TICK = timedelta(microseconds=1)
REFUND_LAST = datetime(2026, 12, 5, 9, 59, 59, 999_999, tzinfo=UTC)  # 14 whole days + 1
WINDOW_LAST = datetime(2026, 12, 21, 9, 59, 59, 999_999, tzinfo=UTC)  # 30 whole days + 1
MUG = [{"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 1,
        "unit_amount": 2500}]


class Moment:
    """The shop's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def shop_at(sqlite_url: str, tmp_path: Path) -> Iterator[object]:
    made: list[ReturnsShop] = []

    def make(policy: str, paid: str = PAID) -> tuple[ReturnsShop, Moment]:
        clock = Moment()
        shop = ReturnsShop(sqlite_url, clock, {"policy": policy})
        event = order_event("1001", paid_at=paid, lines=MUG, shipping=0)
        event["data"]["order"]["delivered_at"] = None
        shop.seed(event)
        made.append(shop)
        return shop, clock

    yield make
    for s in made:
        s.close()


def _quote(shop: ReturnsShop, resolution: str,
           accept: str = "en") -> tuple[list[str], list[str]]:
    """The form's date sentences, and what the quote (the policy's own evaluation) grants."""
    client = shop.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    form = open_form(client)
    quote = submit(client, form, step="quote", **{
        "line-0-qty": "1", "line-0-reason": "changed_mind", "resolution": resolution})
    return (words(form, "when", attr="class") + words(form, "note", attr="class"),
            words(quote, "quote-lead") + words(quote, "amount"))


def test_a_refund_is_promised_until_the_last_day_the_policy_grants_one(
    shop_at: object,
) -> None:
    shop, clock = shop_at("preset:credit-first")  # type: ignore[operator]

    clock.now = REFUND_LAST
    page, granted = _quote(shop, "refund")
    assert page == ["You can return this until 19 February 2027, 09:59 UTC. A refund to your "
                    "original payment is available until 5 December 2026, 09:59 UTC."]
    assert granted == ["If you send this request, it is approved straight away:",
                       "Refund to your original payment: 25.00 USD"]

    clock.now = REFUND_LAST + TICK
    page, granted = _quote(shop, "refund")
    assert page == ["You can return this until 19 February 2027, 09:59 UTC.",
                    "A refund to your original payment was available until 5 December 2026, "
                    "09:59 UTC; for this item you now get store credit."]
    assert granted == ["If you send this request, it is approved straight away:",
                       "Store credit: 27.50 USD (including a bonus of 2.50 USD)"]
    assert "is available until 5 December" not in " ".join(page)  # never a past day as a promise


def test_after_the_refund_period_the_refund_choice_says_it_is_only_for_our_faults(
    shop_at: object,
) -> None:
    """The form offers no plain refund it will not give: past the refund period a change of mind
    gets store credit, and only a fault of ours is still refunded."""
    shop, clock = shop_at("preset:credit-first")  # type: ignore[operator]
    clock.now = REFUND_LAST
    assert words(open_form(shop.app.test_client()), "radio") == [
        "Store credit, with a 10% bonus", "Refund to my original payment"]

    clock.now = REFUND_LAST + TICK
    client = shop.app.test_client()
    assert words(open_form(client), "radio") == [
        "Store credit, with a 10% bonus",
        "Refund to my original payment (only for an item that is damaged, faulty, wrong or not "
        "as described, or never arrived)"]
    broken = submit(client, open_form(client), step="quote", **{
        "line-0-qty": "1", "line-0-reason": "damaged", "resolution": "refund"})
    assert words(broken, "amount") == ["Refund to your original payment: 25.00 USD"]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    assert words(open_form(client), "note")[0] == (
        "Eine Erstattung auf Ihre ursprüngliche Zahlungsart war bis zum 5. Dezember 2026, "
        "09:59 Uhr UTC möglich; für diesen Artikel erhalten Sie jetzt Guthaben.")


def test_the_return_window_ends_on_the_day_the_policy_last_accepts(shop_at: object) -> None:
    shop, clock = shop_at("preset:standard-30-day")  # type: ignore[operator]

    clock.now = WINDOW_LAST
    page, granted = _quote(shop, "refund")
    assert page == ["You can return this until 21 December 2026, 09:59 UTC."]
    assert granted == ["If you send this request, it is approved straight away:",
                       "Refund to your original payment: 19.05 USD"]

    clock.now = WINDOW_LAST + TICK
    page, granted = _quote(shop, "refund")
    assert page == ["The return window for this item ended on 21 December 2026, 09:59 UTC."]
    assert granted == ["We can't accept this return as it is. Nothing has been sent yet.",
                       "No money will be sent for this request."]


def test_a_german_reader_is_told_the_minute_a_refund_stops_being_available(
    shop_at: object,
) -> None:
    shop, clock = shop_at("preset:credit-first")  # type: ignore[operator]

    clock.now = REFUND_LAST
    page, granted = _quote(shop, "refund", accept="de")

    assert page == ["Sie können das bis zum 19. Februar 2027, 09:59 Uhr UTC zurückgeben. Eine "
                    "Erstattung auf Ihre ursprüngliche Zahlungsart ist bis zum 5. Dezember "
                    "2026, 09:59 Uhr UTC möglich."]
    assert granted[1] == "Erstattung auf Ihre ursprüngliche Zahlungsart: 25,00 $"


def test_a_window_that_ends_with_its_day_names_the_day_alone(shop_at: object) -> None:
    shop, clock = shop_at("preset:standard-30-day", "2026-11-20T00:00:00Z")  # type: ignore[operator]

    clock.now = datetime(2026, 12, 20, 23, 59, 59, 999_999, tzinfo=UTC)
    assert _quote(shop, "refund")[0] == ["You can return this until 20 December 2026."]

    clock.now += TICK
    assert _quote(shop, "refund")[0] == [
        "The return window for this item ended on 20 December 2026."]
