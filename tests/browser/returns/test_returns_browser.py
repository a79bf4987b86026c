"""The returns page in headless Chromium: what a customer does, start to finish, no JavaScript
of ours involved. Screenshots go to test-artifacts/returns/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
Shot = Callable[[Any, str], None]


def _find_order(page: Any, base: str, number: str = "1001") -> None:
    page.goto(f"{base}/returns")
    page.get_by_label("Order number").fill(number)
    page.get_by_label("Email address").fill(EMAIL.lower())
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(f"{base}/returns/order")


def _check_and_send(page: Any) -> None:
    page.get_by_role("button", name="Check what I'll get").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Before you send it"
    page.get_by_role("button", name="Send my return request").click()


def test_a_customer_returns_a_mug_for_a_refund_and_follows_the_money(
    chromium: Any, serve: Serve, screenshot: Shot
) -> None:
    shop, base = serve(policy="preset:default", shop_primary_color="#0b6e4f")
    shop.seed(order_event("1001"))
    page = chromium.new_page()

    _find_order(page, base)
    assert page.locator("fieldset[data-line=l1] .when").inner_text().strip() == (
        "You can return this until 2 November 2027, 09:59 UTC.")
    screenshot(page, "refund-1-form")
    page.get_by_label("How many to return").first.select_option("1")
    page.get_by_label("Reason").first.select_option("changed_mind")
    page.get_by_label("Anything you would like to tell us? (optional)").fill("A gift I had")
    _check_and_send(page)

    assert page.get_by_role("heading", level=1).inner_text() == "Your return is approved"
    assert page.locator(".amount").inner_text() == "Refund to your original payment: 25.00 USD"
    assert page.locator(".send-back").inner_text().strip() == (
        "Please send back: Blue enamel mug.")
    assert "Your return of 1 × Blue enamel mug is approved." in page.locator(
        ".explanation").inner_text()
    screenshot(page, "refund-2-answer")
    shop.drain()
    page.locator("#status-link").click()
    assert page.locator("[data-stage]").get_attribute("data-stage") == "received"
    screenshot(page, "refund-3-status")
    (decision,) = shop.rows(decisions)
    (attempt,) = shop.runtime.service.attempts_of(decision[0])
    assert (attempt.kind, attempt.amount, attempt.status) == ("refund", 2500, "succeeded")
    page.close()


def test_a_customer_picks_store_credit_and_sees_the_bonus(
    chromium: Any, serve: Serve, screenshot: Shot
) -> None:
    shop, base = serve(policy="preset:credit-first")
    shop.seed(order_event("1001"))
    page = chromium.new_page()

    _find_order(page, base)
    credit = page.get_by_label("Store credit, with a 10% bonus")
    assert credit.is_checked()  # credit-first offers credit by default
    screenshot(page, "credit-1-form")
    page.get_by_label("How many to return").nth(1).select_option("1")
    page.get_by_label("Reason").nth(1).select_option("too_large")
    _check_and_send(page)

    assert page.get_by_role("heading", level=1).inner_text() == "Your return is approved"
    assert page.locator(".amount").inner_text() == (
        "Store credit: 44.00 USD (including a bonus of 4.00 USD)")
    screenshot(page, "credit-2-answer")
    shop.drain()
    page.locator("#status-link").click()
    assert page.locator("[data-stage]").get_attribute("data-stage") == "received"
    assert page.locator(".stage").inner_text() == (  # dry run: no code is ready, none shown
        "Store credit: 44.00 USD\n"
        "Test mode: nothing was sent to a payment provider and no money moved.")
    assert "DRYRUN-" not in page.content()
    screenshot(page, "credit-3-status")
    page.close()


def test_a_return_outside_the_window_gets_an_honest_no(
    chromium: Any, serve: Serve, screenshot: Shot
) -> None:
    shop, base = serve(policy="preset:standard-30-day")
    shop.seed(order_event("1001", paid_at="2026-08-28T10:00:00Z",
                          delivered_at="2026-09-01T12:00:00Z"))
    page = chromium.new_page()

    _find_order(page, base)
    assert page.locator("fieldset[data-line=l1] .when").inner_text().strip() == (
        "The return window for this item ended on 2 October 2026, 11:59 UTC.")
    screenshot(page, "late-1-form")
    page.get_by_label("How many to return").first.select_option("1")
    page.get_by_label("Reason").first.select_option("changed_mind")
    page.get_by_role("button", name="Check what I'll get").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Before you send it"
    assert page.locator(".quote-lead").inner_text() == (
        "We can't accept this return as it is. Nothing has been sent yet.")
    assert page.locator(".amount").inner_text() == "No money will be sent for this request."
    assert page.locator(".explanation").inner_text() == (
        "We're sorry, we can't accept this return. The 30-day return window for Blue enamel "
        "mug has passed (84 days since delivery).")
    assert page.get_by_role("button", name="Send my return request").count() == 0
    screenshot(page, "late-2-quote")
    assert shop.counts()["decisions"] == shop.counts()["refund_attempts"] == 0
    page.close()


def test_the_whole_return_works_on_a_phone_sized_screen_with_the_keyboard(
    chromium: Any, serve: Serve, screenshot: Shot
) -> None:
    shop, base = serve(policy="preset:no-hassle")
    shop.seed(order_event("1001"))
    context = chromium.new_context(viewport={"width": 360, "height": 740},
                                   device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()

    page.goto(f"{base}/returns")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Skip to the main content"
    languages = []  # then the language choice, each named in its own language
    for _ in range(4):
        page.keyboard.press("Tab")
        languages.append(page.evaluate("document.activeElement.textContent"))
    assert languages == ["English", "Deutsch", "Français", "Español"]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "order_number"
    page.keyboard.type("1001")
    page.keyboard.press("Tab")
    page.keyboard.type(EMAIL)
    screenshot(page, "phone-1-lookup")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/returns/order")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    page.get_by_label("How many to return").nth(1).select_option("1")
    page.get_by_label("Reason").nth(1).select_option("defective")
    screenshot(page, "phone-2-form")
    _check_and_send(page)

    assert page.get_by_role("heading", level=1).inner_text() == "Your return is approved"
    # defective is our fault: the shirt (40.00) and the original shipping (5.00) come back
    assert page.locator(".amount").inner_text() == "Refund to your original payment: 45.00 USD"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "phone-3-answer")
    context.close()


def test_a_customer_whose_email_domain_has_an_accent_finds_her_order(
    chromium: Any, serve: Serve
) -> None:
    # Chromium sends "ana@exämple.com" typed in the email field as "ana@xn--exmple-cua.com"
    shop, base = serve(policy="preset:default")
    shop.seed(order_event("1001", email="ana@exämple.com"))
    page = chromium.new_page()

    page.goto(f"{base}/returns")
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("Email address").fill("ana@exämple.com")
    page.get_by_role("button", name="Find my order").click()

    page.wait_for_url(f"{base}/returns/order")
    assert page.get_by_role("heading", level=1).inner_text() == "Order 1001"
    page.close()
