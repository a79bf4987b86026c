"""A customer on a 375 px phone: look-up → quote → request → status, in dry run and with the
Stripe fake, reading what each page says. Screenshots: test-artifacts/returns/walk-*.png."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event, with_stripe
from tests.fakes.stripe_api import FakeStripeServer

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
Shot = Callable[[Any, str], None]
BANNER = "This shop is in test mode: no money moves."


def _no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("mode", ["dry-run", "stripe"])
def test_a_customer_on_a_phone_checks_the_quote_sends_it_and_follows_the_money(
    chromium: Any, serve: Serve, screenshot: Shot, stripe_server: FakeStripeServer, mode: str
) -> None:
    live = mode == "stripe"
    settings = {"policy": "preset:standard-30-day",
                **(with_stripe(stripe_server.url) if live else {})}
    stripe_server.fake.add_payment_intent(9500, "usd", "pi_1001")
    shop, base = serve(**settings)
    shop.seed(order_event("1001"))
    context = chromium.new_context(viewport={"width": 375, "height": 812},
                                   device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    banner = page.locator(".test-mode")

    # 1. look-up
    page.goto(f"{base}/returns")
    assert page.get_by_role("heading", level=1).inner_text() == "Start a return"
    assert banner.all_inner_texts() == ([] if live else [BANNER])
    page.get_by_label("Order number").fill("#1001")
    page.get_by_label("Email address").fill(EMAIL.upper())
    screenshot(page, f"walk-{mode}-1-lookup")
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(f"{base}/returns/order")
    assert page.get_by_role("heading", level=1).inner_text() == "Order 1001"
    assert page.locator("fieldset[data-line=l1] .when").inner_text().strip() == (
        "You can return this until 5 December 2026, 14:59 UTC.")
    assert banner.all_inner_texts() == ([] if live else [BANNER])
    _no_sideways_scroll(page)

    # 2. quote: nothing recorded yet
    page.get_by_label("How many to return").first.select_option("2")
    page.get_by_label("Reason").first.select_option("changed_mind")
    screenshot(page, f"walk-{mode}-2-form")
    page.get_by_role("button", name="Check what I'll get").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Before you send it"
    assert page.locator(".quote-lead").inner_text() == (
        "If you send this request, it is approved straight away:")
    assert page.locator(".amount").inner_text() == "Refund to your original payment: 44.05 USD"
    assert page.locator(".fee").inner_text() == "Return shipping fee, taken off: 5.95 USD"
    assert page.locator(".send-back").inner_text() == "Please send back: 2 × Blue enamel mug."
    assert banner.all_inner_texts() == ([] if live else [BANNER])
    assert shop.rows(decisions) == []
    _no_sideways_scroll(page)
    screenshot(page, f"walk-{mode}-3-quote")

    # 3. request
    page.get_by_role("button", name="Send my return request").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your return is approved"
    assert page.locator(".amount").inner_text() == "Refund to your original payment: 44.05 USD"
    assert page.locator(".send-back").inner_text() == "Please send back: 2 × Blue enamel mug."
    assert banner.all_inner_texts() == ([] if live else [BANNER])
    assert len(shop.rows(decisions)) == 1
    _no_sideways_scroll(page)
    screenshot(page, f"walk-{mode}-4-answer")

    # 4. status, once the executor has run
    shop.drain()
    page.locator("#status-link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Where your money is"
    assert page.locator(".outcome").inner_text() == (
        "Your return is approved. Decided on 24 November 2026.")
    stage = page.locator(".stage")
    if live:
        assert stage.inner_text() == (
            "Refund to your original payment: 44.05 USD\nReceived by the payment provider. A "
            "card refund usually appears on your statement within 5 to 10 business days.")
        assert stripe_server.fake.refunded("pi_1001") == 4405
    else:
        assert stage.inner_text() == (
            "Refund to your original payment: 44.05 USD\n"
            "Test mode: nothing was sent to a payment provider and no money moved.")
        assert stripe_server.fake.refunded("pi_1001") == 0
    assert banner.all_inner_texts() == ([] if live else [BANNER])
    _no_sideways_scroll(page)
    screenshot(page, f"walk-{mode}-5-status")
    context.close()
