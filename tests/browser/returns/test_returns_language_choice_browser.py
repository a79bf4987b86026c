"""The language choice on a 390 px phone: what the new-user walk found. Each language is a
44 px target named in itself; the return goes on in the language chosen, through the
CSRF-checked forms, over the order's own language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
PHONE = {"width": 390, "height": 844}


def _phone(chromium: Any, locale: str) -> Any:
    return chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale=locale,
                                extra_http_headers={"Accept-Language": locale})


def test_a_customer_picks_spanish_on_a_phone_and_the_whole_return_stays_spanish(
    chromium: Any, serve: Serve, screenshot: Callable[[Any, str], None],
) -> None:
    """The order was placed in French, the phone asks for German."""
    shop, base = serve(policy="preset:default")
    event = order_event("1001")
    event["data"]["order"]["locale"] = "fr-FR"
    shop.seed(event)
    context = _phone(chromium, "de-DE")
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        links = page.locator("nav.languages a")
        assert [(links.nth(i).inner_text(), links.nth(i).get_attribute("lang"),
                 links.nth(i).get_attribute("hreflang")) for i in range(links.count())] == [
            ("English", "en", "en"), ("Deutsch", "de", "de"), ("Français", "fr", "fr"),
            ("Español", "es", "es")]
        boxes = [links.nth(i).bounding_box() for i in range(4)]
        assert [(b["height"] >= 44, b["width"] >= 44) for b in boxes] == [(True, True)] * 4
        assert all(b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"] for b in boxes)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "language-choice-look-up-390")

        page.get_by_role("link", name="Español").tap()
        page.wait_for_url(f"{base}/returns?lang=es")
        assert page.locator("h1").inner_text() == "Iniciar una devolución"
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL.lower())
        page.locator("button[type=submit]").click()
        page.wait_for_url(f"{base}/returns/order")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("h1").inner_text() == "Pedido 1001"
        page.locator("#line-0-qty").select_option("1")
        page.locator("#line-0-reason").select_option("changed_mind")
        page.locator("button[name=step][value=quote]").click()
        page.wait_for_url(f"{base}/returns/quote")
        assert page.locator("h1").inner_text() == "Antes de enviarla"
        page.locator("button[name=step][value=send]").click()
        page.wait_for_url(f"{base}/returns/answer/**")
        assert page.locator("h1").inner_text() == "Tu devolución está aprobada"
        assert page.locator("nav.languages a[aria-current=true]").inner_text() == "Español"
        assert len(shop.rows(decisions)) == 1
    finally:
        context.close()
