"""An exchange nobody was told to ship, in headless Chromium without JavaScript: an admin finds
its follow-up, types the carrier and tracking number, clicks "Mark shipped", and reads that it
is recorded and the follow-up cleared; a second click on the old form records nothing. The
pages stay within a 375 px phone. Screenshots under ``test-artifacts/finance-exchange/``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.config import ReturnAddress
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import exchanges, follow_ups
from tests.browser.finance.phone import PHONE, problems
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.loopback import serving
from tests.fakes.stripe_api import FakeStripeServer

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "finance-exchange"
POLICY = """currency: USD
window: {days: 365, start: payment}
resolution: {allow: [refund, credit, exchange]}
exchange:
  scope: same_product
  price_difference: {lower: refund, higher: charge}
  ship_on: approval
"""
SHIRT = [{"id": "l1", "sku": "SHIRT-M", "name": "Shirt M", "quantity": 1, "unit_amount": 3000,
          "variants": [{"sku": "SHIRT-L", "name": "Shirt L", "unit_amount": 3000,
                        "in_stock": True, "variant_id": "vL"}]}]

DOCK = ReturnAddress("Returns", "1 Dock Rd", "Austin", "78701", "US")

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer,
         tmp_path: Path) -> Iterator[Harness]:
    """Shirt M for Shirt L, decided: ready, and its ``exchange_unshipped`` follow-up open."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    settings = {"policy": str(tmp_path / "policy.yaml"), "return_addresses": (DOCK,)}
    stripe_server.fake.add_payment_intent(3000, "usd", "pi_1001")
    h = Harness(sqlite_url, clock, stripe_server.url, settings=settings)
    assert h.post_storefront(order_paid("1001", reference="pi_1001", lines=SHIRT,
                                        shipping=0)).status_code in (200, 201)
    assert h.post_storefront(return_requested(lines=[
        {"line_id": "l1", "quantity": 1, "reason": "too_small",
         "exchange_for": {"sku": "SHIRT-L", "name": "Shirt L", "unit_amount": 3000,
                          "variant_id": "vL"}}])).status_code == 201
    yield h
    h.close()


WIDTH = "document.documentElement.scrollWidth"
# what needs a sideways scroll on the page: the page itself and any "Mark shipped" form
# reaching past the screen's right edge (a wide table scrolls inside its own box)
OVERFLOWS = """() => {
  const found = [];
  if (document.documentElement.scrollWidth > window.innerWidth) found.push("the page");
  document.querySelectorAll("form.ship, form.ship *").forEach(el => {
    if (el.getBoundingClientRect().right > window.innerWidth) found.push(el.tagName);
  });
  return found;
}"""


def fits_the_phone(page: Any) -> None:
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    assert page.evaluate(WIDTH) <= page.evaluate("window.innerWidth")
    assert page.evaluate(OVERFLOWS) == []
    assert problems(page) == []


def test_an_admin_marks_an_exchange_shipped_from_its_follow_up(
    shop: Harness, chromium: Any,
) -> None:
    from playwright.sync_api import expect

    h = shop
    [f] = h.rows(follow_ups)
    decision = f.subject
    token = create_token(h.runtime.engine, "Ada", "admin", h.clock())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    with serving(h.app) as base, closing(context):
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", token.secret)
        page.click("button[type=submit]")
        page.goto(f"{base}/finance/follow-ups")
        form = page.locator("form.ship")
        expect(form).to_have_count(1)
        fits_the_phone(page)
        page.screenshot(path=ARTIFACTS / "1-follow-up.png", full_page=True)
        stale = page.content()  # the same form, as a second tab would still show it

        page.goto(f"{base}/finance/decisions/{decision}")  # the same form on the decision
        expect(page.locator("form.ship button")).to_have_text("Mark shipped")
        fits_the_phone(page)
        page.screenshot(path=ARTIFACTS / "1-decision.png", full_page=True)
        page.goto(f"{base}/finance/follow-ups")

        page.fill(f"#ship-{decision}-carrier", "UPS")
        page.fill(f"#ship-{decision}-tracking", "1Z999AA10123456784")
        form.locator("button").click()
        expect(page.locator(".notice")).to_have_text(
            f"Exchange {decision} of order 1001 is recorded as shipped (UPS "
            "1Z999AA10123456784); its follow-up is cleared.")
        expect(page.locator("form.ship")).to_have_count(0)
        expect(page.locator("tbody")).to_contain_text("Nothing to follow up.")
        fits_the_phone(page)
        page.screenshot(path=ARTIFACTS / "2-shipped.png", full_page=True)

        page.set_content(stale.replace('action="/', f'action="{base}/'))
        page.locator("form.ship button").click()
        expect(page.locator("main")).to_contain_text(
            f"Nothing was recorded: exchange {decision} was already recorded as shipped by "
            f"Ada (token #{token.principal.token_id}) (UPS 1Z999AA10123456784) at ")
        page.screenshot(path=ARTIFACTS / "3-again.png", full_page=True)
    assert [r.status for r in h.rows(exchanges)] == ["shipped"]
    assert [r.status for r in h.rows(follow_ups)] == ["cleared"]


def test_on_a_desk_the_follow_ups_keep_each_time_on_one_line(
    shop: Harness, chromium: Any,
) -> None:
    """At 1280 × 800 the follow-ups write when each one failed and how long it waits
    (``2026-11-24 12:00 UTC``) on one line, never split at its hyphens and spaces beside the
    longer words of what failed."""
    from tests.browser.finance.phone import DESK, broken_figures

    token = create_token(shop.runtime.engine, "Ada", "admin", shop.clock())
    context = chromium.new_context(viewport=DESK, java_script_enabled=False)
    page = context.new_page()
    with serving(shop.app) as base, closing(context):
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", token.secret)
        page.click("button[type=submit]")
        page.goto(f"{base}/finance/follow-ups?status=all")
        assert page.locator("td[data-label=Failed]").count() == 1
        assert broken_figures(page) == []
