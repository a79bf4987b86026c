"""The finance summary on a 1280 × 800 desk, with several currencies and large amounts: its
totals fit the window, no table box scrolls sideways and no amount is broken across lines; on a
375 px phone the page still never scrolls sideways. And every finance page opens with a skip
link: the first Tab stop, shown when focused, whose Enter puts the focus on the main content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.finance.phone import DESK, PHONE, broken_figures, problems
from tests.browser.finance.test_finance_browser import served as served  # noqa: F401 (fixture)
from tests.fakes.finance_scene import Scene

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[3] / "test-artifacts"
SUMMARY = "/finance/summary?since=2026-11-01&until=2026-12-01"

# each scrolling table box on the page: how wide its table is and how wide the box shows it
BOXES = """() => [...document.querySelectorAll("main .scroll")].map(
    b => [b.getAttribute("aria-label"), b.scrollWidth, b.clientWidth])"""


def _big_amounts(scene: Scene) -> None:
    """Four currencies, each with an amount in the millions: decided, paid out in dry run."""
    shop = scene.shop
    for n, (amount, currency) in enumerate(((123456789, "EUR"), (9876543210, "USD"),
                                            (150000000, "JPY"), (1234567891, "KWD")), start=3):
        shop.order(f"o-{n}", amount, f"customer{n}@example.com", currency=currency)
        shop.ask_return(f"o-{n}", f"r-{n}")
    shop.pay_out()


def _log_in(page: Any, base: str, scene: Scene) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/finance/login")
    page.fill("input[name=token]", scene.admin)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Decisions")


def test_the_summary_totals_fit_a_1280_px_desk_with_large_amounts_in_four_currencies(
    served: tuple[Scene, str], chromium: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    scene, base = served
    _big_amounts(scene)
    context = chromium.new_context(viewport=DESK)
    page = context.new_page()
    try:
        _log_in(page, base, scene)
        page.goto(f"{base}{SUMMARY}")
        page.wait_for_load_state("load")
        expect(page.locator("td[data-label=Captured]")).to_have_text(
            ["1,234,592.89 EUR", "150,000,000 JPY", "1,234,567.891 KWD", "98,765,432.10 USD"])
        (SHOTS / "finance-desk").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "finance-desk" / "3-summary-totals.png", full_page=True)
        boxes = page.evaluate(BOXES)
        assert [(label, wide) for label, wide, shown in boxes if wide > shown] == []
        assert [label for label, _, _ in boxes][:3] == [
            "Money per currency", "Stripe test mode per currency", "Decisions per currency"]
        assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
        assert broken_figures(page) == []
    finally:
        context.close()

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        _log_in(page, base, scene)
        page.goto(f"{base}{SUMMARY}")
        (SHOTS / "finance-phone").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "finance-phone" / "summary-totals.png", full_page=True)
        assert problems(page) == []  # the page itself never scrolls sideways
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/finance/", SUMMARY, "/finance/reviews"])
def test_the_first_tab_stop_is_a_visible_skip_link_whose_enter_focuses_the_main_content(
    served: tuple[Scene, str], chromium: Any, path: str,  # noqa: F811
) -> None:
    scene, base = served
    context = chromium.new_context(viewport=DESK)
    page = context.new_page()
    try:
        _log_in(page, base, scene)
        page.goto(f"{base}{path}")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the main content"
        box = skip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["y"] >= 0, box  # on the screen
        assert box["height"] >= 44 and box["width"] > 0, box
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.tagName") == "MAIN"
        assert page.evaluate("document.activeElement.id") == "main"
        assert page.evaluate("location.hash") == "#main"
        page.keyboard.press("Tab")  # on from the main content, not back to the header
        assert page.evaluate("document.activeElement.closest('main') !== null")
    finally:
        context.close()
