"""The return form on a 390 px phone in the languages whose words are long: what the phone walk
found. A choice's radio button keeps its size when its label wraps onto two lines, and each
choice is a row a thumb can hit (44 px tall), with nothing wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

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
