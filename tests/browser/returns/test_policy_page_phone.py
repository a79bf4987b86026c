"""The published return policy on a 390 px phone: reached with a thumb from the start page, and
with its longest sentences (standard-30-day's fee in 19 currencies, German's long words) nothing
is wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.reopened import DOCK
from tests.fakes.returns_shop import ReturnsShop, with_stripe

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "en-US"])
def test_the_policy_fits_a_phone_and_is_one_tap_from_the_start_page(
    chromium: Any, serve: Serve, screenshot: Callable[[Any, str], None], locale: str,
) -> None:
    # a live shop with a return address: every sentence is said, the deadline and the promise
    # of when money goes among them
    _shop, base = serve(policy="preset:standard-30-day", return_addresses=(DOCK,),
                        **with_stripe("http://127.0.0.1:9"))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale=locale, extra_http_headers={"Accept-Language": locale})
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        link = page.locator(".policy-link a")
        assert link.bounding_box()["height"] >= 44
        link.tap()
        page.wait_for_url(f"{base}/returns/policy")
        screenshot(page, f"policy-{locale}")

        items = page.locator("ul.policy li")
        # the fee in 19 currencies among them, and holiday gifts' longer window
        assert items.count() == 11
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('body *')]"
            ".map(e => e.getBoundingClientRect().right))")
        assert widest <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
