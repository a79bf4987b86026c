"""Every page of a customer's return, checked by axe-core (../axe.py) in each language on a
375 × 667 phone and in English on a desk: the look-up and its error, the order form and its
error, the quote, the answer with the return instructions, "How did we do?" answered, the
status page, the published policy and the withdrawal form. No serious or critical violation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.config import ReturnAddress
from tests.browser.axe import axe_js, violations
from tests.fakes.returns_shop import EMAIL, KOELN, ReturnsShop, order_event

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping:
  packing_notes: {en: "Pack it in its box, please.", de: "Bitte im Originalkarton verpacken."}
"""
HOME = ReturnAddress("Unser Lager", "Lagerweg 2", "Berlin", "10115", "DE")


@pytest.mark.parametrize(("lang", "width", "height"), [
    ("en", 375, 667), ("de", 375, 667), ("es", 375, 667), ("fr", 375, 667), ("en", 1280, 800)])
def test_a_return_from_look_up_to_status_has_no_serious_accessibility_violation(
    chromium: Any, serve: Serve, tmp_path: Path, lang: str, width: int, height: int,
) -> None:
    script = axe_js()
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    shop, base = serve(policy=str(policy), withdrawal_enabled=True, return_addresses=(HOME,))
    shop.seed(order_event("1001", shipping_address=KOELN))
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   bypass_csp=True)  # axe-core is a script
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(name: str) -> None:
        found[name] = violations(page, script)

    try:
        page.goto(f"{base}/returns?lang={lang}")
        check("look-up")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill("someone.else@example.com")
        page.locator("#email").press("Enter")
        assert page.locator("[role=alert]").count() == 1
        check("look-up, wrong email")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL)
        page.locator("#email").press("Enter")
        page.wait_for_url(f"{base}/returns/order")
        check("order form")
        page.locator("select[name=line-1-qty]").select_option("1")
        page.locator("button[name=step][value=quote]").click()
        assert page.locator("#line-1-reason[aria-invalid=true]").count() == 1
        check("order form, no reason")
        page.locator("select[name=line-1-reason]").select_option("changed_mind")
        page.locator("button[name=step][value=quote]").click()
        check("quote")
        page.locator("button[name=step][value=send]").click()
        assert page.locator("#return-instructions .packing").count() == 1
        check("answer")
        status = page.locator("#status-link").get_attribute("href")
        page.locator("button.rating[value='4']").click()
        page.wait_for_load_state("load")
        check("feedback given")
        page.goto(f"{base}{status}" if status and status.startswith("/") else str(status))
        check("status")
        page.goto(f"{base}/returns/policy")
        check("policy")
        page.goto(f"{base}/returns/withdraw")
        check("withdrawal")
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert len(found) == 10
