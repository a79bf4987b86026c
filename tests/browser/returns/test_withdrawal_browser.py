"""The EU withdrawal function in headless Chromium on a phone (390×844): the link on the returns
page, the look-up, step 1 and step 2, and the receipt page; in English, and in German from the
browser's Accept-Language. Screenshots go to test-artifacts/returns/.

The German run asserts the German labels ("Vertrag hier widerrufen", "Widerruf bestätigen")
from the German catalogue."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, withdrawals
from tests.fakes.returns_shop import EMAIL, KOELN, ReturnsShop, order_event

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
Shot = Callable[[Any, str], None]
PHONE = {"width": 390, "height": 844}


ENGLISH = {"link": "Withdraw from contract here", "confirm": "Confirm withdrawal",
           "received": "Your withdrawal has been received", "at": "24 November 2026, 12:00:00 UTC",
           "form": "Withdraw from contract",
           "none_left": "A return has been requested for everything in this order."}
GERMAN = {"link": "Vertrag hier widerrufen", "confirm": "Widerruf bestätigen",
          "received": "Ihr Widerruf ist eingegangen", "at": "24. November 2026, 12:00:00 Uhr UTC",
          "form": "Vertrag widerrufen",
          "none_left": "Für alle Artikel dieser Bestellung wurde bereits eine Rücksendung "
                       "beantragt."}


def _german_order(serve: Serve) -> tuple[ReturnsShop, str]:
    """A shop with the withdrawal function on, and order 1001 delivered to Germany."""
    shop, base = serve(policy="preset:default", withdrawal_enabled=True)
    shop.seed(order_event("1001", shipping_address=KOELN))
    return shop, base


def _look_up(page: Any, base: str) -> None:
    """The withdrawal's own address, then the order number and email it asks for first."""
    page.goto(f"{base}/returns/withdraw")
    page.locator("#order_number").fill("1001")
    page.locator("#email").fill(EMAIL.lower())
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{base}/returns/withdraw")


@pytest.mark.parametrize("locale", ["en-GB", "de-DE"])
def test_a_customer_withdraws_in_two_steps_on_a_phone(
    chromium: Any, serve: Serve, screenshot: Shot, locale: str
) -> None:
    words = GERMAN if locale.startswith("de") else ENGLISH
    shop, base = _german_order(serve)
    context = chromium.new_context(viewport=PHONE, locale=locale,
                                   extra_http_headers={"Accept-Language": locale})
    page = context.new_page()
    try:
        page.goto(f"{base}/returns")
        page.get_by_role("link", name=words["link"]).click()
        page.wait_for_url(f"{base}/returns/withdraw")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL.lower())
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{base}/returns/withdraw")

        page.locator("#name").fill("Anna Schmidt")  # step 1: whole order, email prefilled
        assert page.locator("#scope-all").is_checked()
        assert page.locator("#email").input_value() == EMAIL.lower()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, f"withdraw-1-{locale}")
        page.locator("form button[type=submit]").click()

        confirm = page.get_by_role("button", name=words["confirm"])  # step 2: the summary
        assert confirm.is_visible()
        assert page.locator(".w-name").inner_text() == "Anna Schmidt"
        assert page.locator(".w-lines li").all_inner_texts() == [
            "2 × Blue enamel mug", "1 × Linen shirt"]
        screenshot(page, f"withdraw-2-{locale}")
        confirm.click()

        assert words["at"] in page.locator(".received").inner_text()
        if "received" in words:
            assert page.get_by_role("heading", level=1).inner_text() == words["received"]
        screenshot(page, f"withdraw-3-{locale}")
    finally:
        context.close()
    [row] = shop.rows(withdrawals)
    assert row[1] == "1001"  # order_id
    assert len(shop.rows(decisions)) == 1


def test_a_form_error_puts_the_focus_on_the_summary_which_leads_to_the_field(
    chromium: Any, serve: Serve, screenshot: Shot
) -> None:
    from playwright.sync_api import expect

    shop, base = _german_order(serve)
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.bring_to_front()  # Chromium focuses an autofocus element only in the focused page
    try:
        _look_up(page, base)

        page.locator("#name").fill("")  # empty: novalidate lets the server's summary say so
        page.locator("form button[type=submit]").click()

        # autofocus moves the focus a frame after load; Playwright's matcher waits for it (the
        # page's CSP forbids the eval wait_for_function polls)
        expect(page.locator("#error-summary")).to_be_focused(timeout=20000)
        expect(page.locator("#error-summary")).to_have_attribute("role", "alert")
        screenshot(page, "withdraw-error")
        page.get_by_role("link", name="Please enter your full name.").click()
        expect(page.locator("#name")).to_be_focused()
        expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#name")).to_have_attribute("aria-describedby", "name-error")
        expect(page.locator("#name-error")).to_have_text("Please enter your full name.")
        expect(page.locator("[aria-invalid=true]")).to_have_count(1)
    finally:
        context.close()
    assert shop.rows(withdrawals) == []


@pytest.mark.parametrize("locale", ["en-GB", "de-DE"])
def test_back_and_reload_after_confirming_show_pages_and_record_one_withdrawal(
    chromium: Any, serve: Serve, screenshot: Shot, locale: str
) -> None:
    """Each step was a page answering a post: back from the receipt was Chrome's "Confirm Form
    Resubmission" (net::ERR_CACHE_MISS) and a reload posted again. Now each post redirects."""
    words = GERMAN if locale.startswith("de") else ENGLISH
    shop, base = _german_order(serve)
    context = chromium.new_context(viewport=PHONE, locale=locale,
                                   extra_http_headers={"Accept-Language": locale})
    page = context.new_page()
    heading = page.get_by_role("heading", level=1)
    try:
        _look_up(page, base)
        page.locator("#name").fill("Anna Schmidt")
        page.locator("form button[type=submit]").click()
        page.get_by_role("button", name=words["confirm"]).click()
        page.wait_for_url(re.compile(r"/returns/withdraw/received/"))
        receipt = page.url
        assert heading.inner_text() == words["received"]

        for move in (page.go_back, page.reload):  # back from the receipt: the receipt again
            answer = move()
            assert answer is not None and answer.status == 200
            assert page.url == receipt
            assert heading.inner_text() == words["received"]
            assert words["at"] in page.locator(".received").inner_text()
        screenshot(page, f"withdraw-back-{locale}")

        for move in (page.go_back, page.reload):  # back again: step 1, nothing left to withdraw
            answer = move()
            assert answer is not None and answer.status == 200
            assert page.url == f"{base}/returns/withdraw"
            assert heading.inner_text() == words["form"]
            assert page.locator("main p.notice").inner_text() == words["none_left"]
    finally:
        context.close()
    [row] = shop.rows(withdrawals)
    assert row[1] == "1001"  # order_id
    assert len(shop.rows(decisions)) == 1


def test_on_a_desk_finance_reads_a_withdrawal_whose_name_is_one_long_word_with_its_deadline_in_view(
    chromium: Any, serve: Serve, screenshot: Shot
) -> None:
    """A name typed without a space (200 letters, the field's limit) wraps in the summary's EU
    withdrawals table at 1280 × 800 rather than pushing the legal deadline, money and amount out
    of the table's box."""
    shop, base = _german_order(serve)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        _look_up(page, base)
        page.locator("#name").fill("Ä" + "x" * 199)
        page.locator("form button[type=submit]").click()
        page.get_by_role("button", name=ENGLISH["confirm"]).click()
        page.wait_for_url(re.compile(r".*/returns/withdraw/received/.*"))

        admin = create_token(shop.runtime.engine, "Ada", "admin", shop.clock()).secret
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", admin)
        page.click("button[type=submit]")
        page.goto(f"{base}/finance/summary")
        table = page.locator("table.withdrawals")
        assert table.locator("td[data-label=Customer]").inner_text() == "Ä" + "x" * 199
        screenshot(page, "withdraw-finance-desk")
        assert table.evaluate(
            "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
        deadline = table.locator("td[data-label='Legal deadline']").bounding_box()
        box = table.evaluate("t => t.parentElement.getBoundingClientRect().right")
        assert deadline["x"] + deadline["width"] <= box
    finally:
        context.close()
