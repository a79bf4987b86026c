"""What the outside walk found, checked in headless Chromium: after "Send" the back button and a
reload show pages fetched by GET (no "Confirm Form Resubmission"; the quote, once sent, is its
answer), and a form error takes the
focus to its summary, whose link leads to the field at fault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]


def _at_the_form(chromium: Any, serve: Serve) -> tuple[ReturnsShop, str, Any]:
    """Order 1001's return form, open in a new page: the shop, its address and the page."""
    shop, base = serve(policy="preset:default")
    shop.seed(order_event("1001"))
    page = chromium.new_page()
    page.bring_to_front()  # Chromium focuses an autofocus element only in the focused page
    _find_order(page, base)
    return shop, base, page


def _find_order(page: Any, base: str) -> None:
    page.goto(f"{base}/returns")
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("Email address").fill(EMAIL.lower())
    page.get_by_role("button", name="Find my order").click()
    page.wait_for_url(f"{base}/returns/order")


def test_a_missing_reason_puts_the_focus_on_the_summary_which_leads_to_the_field(
    chromium: Any, serve: Serve,
) -> None:
    _shop, _base, page = _at_the_form(chromium, serve)

    page.get_by_label("How many to return").first.select_option("1")
    page.get_by_role("button", name="Check what I'll get").click()

    # autofocus moves the focus once the page is rendered, a frame after it has loaded; waited
    # for by Playwright's own matcher (the page's CSP forbids the eval wait_for_function polls)
    from playwright.sync_api import expect
    expect(page.locator("#error-summary")).to_be_focused(timeout=20000)
    assert page.evaluate("document.activeElement.getAttribute('role')") == "alert"
    page.get_by_role("link", name="Please choose a reason for Blue enamel mug.").click()
    assert page.evaluate("location.hash") == "#line-0-reason"
    reason = page.locator("#line-0-reason")
    assert reason.get_attribute("aria-invalid") == "true"
    assert page.locator("#" + reason.get_attribute("aria-describedby")).inner_text() == (
        "Please choose a reason for Blue enamel mug.")


def test_a_look_up_that_finds_nothing_puts_the_focus_on_its_message(
    chromium: Any, serve: Serve,
) -> None:
    shop, base = serve(policy="preset:default")
    shop.seed(order_event("1001"))
    page = chromium.new_page()
    page.bring_to_front()
    page.goto(f"{base}/returns")
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("Email address").fill("someone.else@example.com")
    page.get_by_role("button", name="Find my order").click()

    from playwright.sync_api import expect
    message = page.locator("#lookup-error")
    expect(message).to_be_focused(timeout=20000)
    assert message.inner_text() == ("We could not find an order with that number and email "
                                    "address. Please check both and try again.")
    assert page.get_by_label("Email address").get_attribute("aria-describedby") == "lookup-error"
    page.keyboard.press("Tab")  # the next stop is the field to correct
    assert page.evaluate("document.activeElement.id") == "order_number"
    page.close()


def test_back_and_reload_after_sending_fetch_pages_and_decide_once(
    chromium: Any, serve: Serve,
) -> None:
    shop, base, page = _at_the_form(chromium, serve)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    page.get_by_label("How many to return").first.select_option("1")
    page.get_by_label("Reason").first.select_option("changed_mind")
    page.get_by_role("button", name="Check what I'll get").click()
    page.wait_for_url(f"{base}/returns/quote")
    page.get_by_role("button", name="Send my return request").click()
    page.wait_for_url(f"{base}/returns/answer/**")
    answer_url = page.url
    reference = page.locator(".reference").inner_text()
    sent = len(posted)

    page.reload()
    assert page.url == answer_url and page.locator(".reference").inner_text() == reference
    page.go_back()  # the quote's address, sent already: its answer, not "Send" once more
    assert page.url == answer_url and page.locator(".reference").inner_text() == reference
    assert page.get_by_role("button", name="Send my return request").count() == 0
    page.go_back()
    assert page.url == f"{base}/returns/order"
    page.go_forward()
    assert page.url == answer_url

    assert len(posted) == sent  # neither back, forward nor reload posted anything
    assert len(shop.rows(decisions)) == 1
