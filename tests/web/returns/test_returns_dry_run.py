"""In dry run (no provider keys) every customer page says that no money moves, and the status
page never claims a provider received anything nor shows a DRYRUN code as ready, nor does the
policy's explanation promise when the money will be on its way; with a provider, none of that
is said and the promise is kept."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import lookup, open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event, with_stripe
from tests.fakes.stripe_api import FakeStripeServer

BANNER = "This shop is in test mode: no money moves."


def test_every_page_of_a_dry_run_shop_says_no_money_moves(sqlite_url: str, now: datetime) -> None:
    shop = ReturnsShop(sqlite_url, lambda: now, {"policy": "preset:credit-first"})
    shop.seed(order_event("1001"))
    client = shop.app.test_client()
    assert shop.runtime.config.dry_run

    pages = {"lookup": client.get("/returns"),
             "not found": lookup(shop.app.test_client(), "9999", "x@example.com")}
    pages["form"] = form = open_form(client)
    pages["quote"] = submit(client, form, step="quote",
                            **{"line-1-qty": "1", "line-1-reason": "too_large"})
    pages["answer"] = answer = submit(client, form,
                                      **{"line-1-qty": "1", "line-1-reason": "too_large"})
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    shop.drain()
    pages["status"] = status = client.get(link.group(1))
    pages["bad link"] = client.get("/returns/status/nope")

    assert {name: words(p, "test-mode") for name, p in pages.items()} == {
        name: [BANNER] for name in pages}
    assert words(status, "stage") == [
        "Store credit: 44.00 USD Test mode: nothing was sent to a payment provider and no "
        "money moved."]
    assert "Received by the payment provider" not in text(status)
    assert "DRYRUN-" not in status.get_data(as_text=True)
    assert "DRYRUN-" not in answer.get_data(as_text=True)
    shop.close()


def _refunded(shop: ReturnsShop) -> tuple[TestResponse, TestResponse]:
    """A mug sent back for a refund: its answer, then its status page once the money went."""
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "changed_mind"})
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    shop.drain()
    return answer, client.get(link.group(1))


def test_a_live_shop_shows_no_test_mode_and_the_provider_stage(stripe_shop: ReturnsShop) -> None:
    answer, status = _refunded(stripe_shop)

    assert BANNER not in text(answer) and BANNER not in text(status)
    assert words(status, "stage") == [
        "Refund to your original payment: 25.00 USD Received by the payment provider. A card "
        "refund usually appears on your statement within 5 to 10 business days."]


def test_a_stripe_test_key_shop_says_stripe_took_the_refund_in_test_mode_not_the_statement(
    sqlite_url: str, now: datetime, stripe_server: FakeStripeServer,
) -> None:
    """A test key calls Stripe's test mode: the refund succeeds there, and no card statement
    will ever show it, so the page that says "no money moves" promises no statement line."""
    stripe_server.fake.add_payment_intent(9500, "usd", "pi_1001")
    shop = ReturnsShop(sqlite_url, lambda: now,
                       with_stripe(stripe_server.url) | {"stripe_api_key": "sk_test_fake"})
    shop.seed(order_event("1001"))

    _, status = _refunded(shop)

    assert words(status, "test-mode") == [BANNER]
    assert words(status, "stage") == [
        "Refund to your original payment: 25.00 USD Received by the payment provider in test "
        "mode: no real money moved."]
    assert "statement" not in text(status)
    assert stripe_server.fake.refunded("pi_1001") == 2500  # Stripe's test mode took it
    shop.close()


SAID = ("Your return of 1 × Blue enamel mug is approved. We will refund 25.00 USD to your "
        "original payment. Please send back: Blue enamel mug.")
PROMISE = "The money will be on its way within 48 hours."


def _quote_answer_status(shop: ReturnsShop) -> dict[str, Any]:
    client = shop.app.test_client()
    form = open_form(client)
    picked = {"line-0-qty": "1", "line-0-reason": "changed_mind"}
    quote = submit(client, form, step="quote", **picked)
    answer = submit(client, form, **picked)
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    return {"quote": quote, "answer": answer, "status": client.get(link.group(1))}


# what a dry run says instead of "We will refund ...": no money moves
DRY_SAID = ("Your return of 1 × Blue enamel mug is approved. Dry run: we would refund 25.00 USD "
            "to your original payment; no money moves. Please send back: Blue enamel mug.")


def test_a_dry_run_answer_promises_no_time_for_money_that_never_moves(
    shop: ReturnsShop,
) -> None:
    pages = _quote_answer_status(shop)

    assert {name: (words(p, "explanation"), words(p, "test-mode")) for name, p in
            pages.items()} == {name: ([DRY_SAID], [BANNER]) for name in pages}
    assert all("on its way" not in text(p) for p in pages.values())
    assert all("We will refund" not in text(p) for p in pages.values())
    (stored,) = [row[13] for row in shop.rows(decisions)]
    assert stored == f"{SAID} {PROMISE}"  # the ledger keeps what the policy said


def test_a_live_answer_keeps_its_promise(stripe_shop: ReturnsShop) -> None:
    pages = _quote_answer_status(stripe_shop)

    assert {name: (words(p, "explanation"), words(p, "test-mode")) for name, p in
            pages.items()} == {name: ([f"{SAID} {PROMISE}"], []) for name in pages}
