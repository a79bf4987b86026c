"""The return form on a 390 px phone in the languages whose words are long: what the phone walk
found. A choice's radio button keeps its size when its label wraps onto two lines, and each
choice is a row a thumb can hit (44 px tall), with nothing wider than the screen; the
"Withdraw from contract here" link and the skip link (once focused) are 44 px targets too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.returns_shop import EMAIL, KOELN, ReturnsShop, order_event

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "en-US"])
def test_the_refund_or_credit_choice_keeps_round_buttons_and_thumb_sized_rows(
    chromium: Any, serve: Serve, locale: str,
) -> None:
    shop, base = serve(policy="preset:credit-first")
    shop.seed(order_event("1001"))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale=locale, extra_http_headers={"Accept-Language": locale})
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL.lower())
        page.locator("button[type=submit]").click()
        page.wait_for_url(f"{base}/returns/order")

        buttons = page.locator("fieldset.choice .radio input[type=radio]")
        labels = page.locator("fieldset.choice .radio label")
        assert buttons.count() == labels.count() == 2
        for i in range(2):
            box = buttons.nth(i).bounding_box()
            assert (round(box["width"]), round(box["height"])) == (20, 20)
            assert labels.nth(i).bounding_box()["height"] >= 44
        labels.nth(1).tap()  # the label's whole row chooses it
        assert buttons.nth(1).is_checked()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_the_withdrawal_link_is_a_thumb_sized_target_on_the_look_up_and_the_order_page(
    chromium: Any, serve: Serve, screenshot: Callable[[Any, str], None], locale: str,
) -> None:
    """"Withdraw from contract here" was a 20 px line of text: now a 44 px target on both pages
    that offer it, its words where they were (left edge, not wider than the screen)."""
    shop, base = serve(policy="preset:default", withdrawal_enabled=True)
    shop.seed(order_event("1001", shipping_address=KOELN))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale=locale, extra_http_headers={"Accept-Language": locale})
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        boxes = {"look-up": page.locator(".withdraw-link a").bounding_box()}
        screenshot(page, f"withdraw-link-look-up-{locale}")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL.lower())
        page.locator("button[type=submit]").click()
        page.wait_for_url(f"{base}/returns/order")
        boxes["order"] = page.locator(".withdraw-link a").bounding_box()
        main = page.locator("main").bounding_box()

        left = round(main["x"]) + 16  # main's own padding: where every line of text starts
        assert {name: (box["height"] >= 44, round(box["x"])) for name, box in boxes.items()} == {
            "look-up": (True, left), "order": (True, left)}
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator(".withdraw-link a").tap()
        page.wait_for_url(f"{base}/returns/withdraw")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_the_skip_link_is_a_thumb_sized_target_when_focused(
    chromium: Any, serve: Serve, screenshot: Callable[[Any, str], None], locale: str,
) -> None:
    """It was 42 px tall when it showed: now 44 px, like the page's other targets."""
    _shop, base = serve(policy="preset:default")
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale=locale, extra_http_headers={"Accept-Language": locale})
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip")
        assert page.evaluate("document.activeElement.className") == "skip"
        box = skip.bounding_box()
        screenshot(page, f"skip-link-focused-{locale}")
        assert box["height"] >= 44, box
        assert box["x"] >= 0 and box["y"] >= 0, box
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        context.close()


def test_the_feedback_comment_button_is_a_thumb_sized_button_like_the_others(
    chromium: Any, serve: Serve,
) -> None:
    """After "How did we do?" the comment form's Send was the browser's bare 21 px button, the
    one button of the returns pages without the pages' own style."""
    shop, base = serve(policy="preset:default")
    shop.seed(order_event("1001"))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL.lower())
        page.get_by_role("button", name="Find my order").click()
        page.get_by_label("How many to return").first.select_option("1")
        page.get_by_label("Reason").first.select_option("changed_mind")
        page.get_by_role("button", name="Check what I'll get").click()
        page.get_by_role("button", name="Send my return request").click()
        page.get_by_role("button", name="4").first.click()
        page.wait_for_load_state("load")
        assert page.locator("#rate-us-done").inner_text().startswith("We have your answer: 4")

        send = page.locator("form.rate-us-comment button[type=submit]")
        box = send.bounding_box()
        assert box["height"] >= 44, box
        size = page.evaluate("getComputedStyle(document.querySelector("
                                  "'form.rate-us-comment button')).fontSize")
        assert size == page.evaluate("getComputedStyle(document.body).fontSize")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
