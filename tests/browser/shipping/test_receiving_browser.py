"""The receiving page on a phone at the packing table (375 px, headless Chromium driven by
Playwright): a warehouse token logs in, finds the return by its order number, marks the line
opened and back on the shelf, and is told the held money is released; nothing is wider than
the screen and the buttons are big enough for a thumb. Screenshots under
``test-artifacts/shipping/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.config import ReturnAddress
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import refund_attempts, return_receipts
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.loopback import serving
from tests.fakes.stripe_api import FakeStripeServer

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "shipping"
PHONE = {"width": 375, "height": 812}
POLICY = """currency: USD
window: {days: 365, start: payment}
refund_on: inspected
"""

pytestmark = pytest.mark.browser


@pytest.fixture
def served(sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer,
           tmp_path: Path) -> Iterator[tuple[Harness, str]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    h = Harness(sqlite_url, clock, stripe_server.url, settings={
        "policy": str(policy),
        "return_addresses": (ReturnAddress("Returns", "1 Dock Rd", "Austin", "78701", "US"),)})
    stripe_server.fake.add_payment_intent(5500, "usd", "pi_1001")
    event = order_paid("1001", reference="pi_1001")
    event["data"]["order"]["lines"][0]["name"] = "Blue mug"
    assert h.post_storefront(event).status_code in (200, 201)
    assert h.post_storefront(return_requested(lines=[
        {"line_id": "l1", "quantity": 2, "reason": "too_large"}])).status_code == 201
    try:
        with serving(h.app) as url:
            yield h, url
    finally:
        h.close()


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide on a 375 px phone"


def test_a_warehouse_worker_receives_a_return_on_a_phone(
    served: tuple[Harness, str], chromium: Any,
) -> None:
    from playwright.sync_api import expect

    h, base = served
    token = create_token(h.runtime.engine, "Dock 1", "warehouse", h.clock()).secret
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Receive returns")
        expect(page.locator("header nav")).not_to_contain_text("Decisions")
        page.fill("#q", "1001")
        page.click("form.search button")
        expect(page.locator("section.return h2")).to_have_text("Order 1001")
        expect(page.locator("form.receive legend")).to_have_text(
            "Blue mug — 2 expected (too large)")
        _fits(page)
        page.screenshot(path=ARTIFACTS / "1-found.png", full_page=True)
        button = page.locator("form.receive button").bounding_box()
        assert button is not None and button["height"] >= 44 and button["width"] >= 300

        page.select_option("select[name=condition-l1]", "opened")
        page.check("input[name=restock-l1]")
        page.click("form.receive button")

        expect(page.locator("#received")).to_contain_text(
            "Received. Everything matches: the money on hold is released.")
        expect(page.locator("#received")).to_contain_text("Back on the shelf: 2 × l1 (listed)")
        expect(page.locator("section.return")).to_contain_text("2 × l1: Opened, restocked")
        _fits(page)
        page.screenshot(path=ARTIFACTS / "2-received.png", full_page=True)
    finally:
        context.close()
    assert [(r.condition, r.quantity, r.restock) for r in h.rows(return_receipts)] == [
        ("opened", 2, 1)]
    assert [r.status for r in h.rows(refund_attempts)] == ["pending"]
