"""The finance pages on a touch phone (390 × 844): the header's links and every checkbox are
targets a thumb can hit (44 px tall), and a checkbox sits on the line of its own words."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.finance.test_finance_browser import served as served  # noqa: F401 (fixture)
from tests.fakes.finance_scene import Scene

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# each checkbox's label: its words, how tall it is, and whether the box is on the line of its
# words, left of them (not centred above them, as a column label put it)
CHECKBOXES = """() => [...document.querySelectorAll("main label")]
  .filter(l => l.querySelector("input[type=checkbox]"))
  .map(l => {
    const box = l.querySelector("input[type=checkbox]").getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(l);
    const words = [...range.getClientRects()].filter(r => r.width > 0 && r.left >= box.right);
    const beside = words.length > 0 && words[0].top < box.bottom && box.top < words[0].bottom;
    return [l.textContent.trim(), l.getBoundingClientRect().height >= 44,
            box.height >= 20, beside];
  })"""

SHORT_LINKS = """() => [...document.querySelectorAll("header a")]
  .map(a => [a.textContent.trim(), Math.round(a.getBoundingClientRect().height)])
  .filter(([, h]) => h > 0 && h < 44)"""


@pytest.fixture
def phone(served: tuple[Scene, str], chromium: Any) -> Iterator[tuple[Any, str]]:  # noqa: F811
    scene, base = served
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", scene.admin)
        page.click("main button[type=submit]")
        yield page, base
    finally:
        context.close()


def test_on_a_touch_phone_the_header_links_are_44_px_targets(
    phone: tuple[Any, str],
) -> None:
    page, base = phone
    page.goto(f"{base}/finance/")
    page.wait_for_load_state("load")

    assert page.evaluate(SHORT_LINKS) == []


def test_on_a_touch_phone_each_checkbox_is_a_44_px_row_beside_its_words(
    phone: tuple[Any, str],
) -> None:
    page, base = phone
    page.goto(f"{base}/finance/follow-ups")
    page.wait_for_load_state("load")
    assert page.evaluate(CHECKBOXES) == [
        ["only those past the policy's wait", True, True, True]]

    page.goto(f"{base}/finance/reviews")
    page.wait_for_load_state("load")
    assert page.evaluate(CHECKBOXES) == [
        ["Give store credit instead of a refund", True, True, True]]


SHORT_MAIN_LINKS = """() => [...document.querySelectorAll("main a")]
  .map(a => [a.textContent.trim(), Math.round(a.getBoundingClientRect().height)])
  .filter(([, h]) => h > 0 && h < 44)"""


def test_on_a_touch_phone_the_log_in_link_and_each_orders_link_are_44_px_targets(
    served: tuple[Scene, str], chromium: Any,  # noqa: F811
) -> None:
    """"Log in" on the page that says you are not logged in was an 18 px line of text, and
    each decision's order number in the list a 22 px one."""
    scene, base = served
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/")
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == "Not logged in"
        assert page.evaluate(SHORT_MAIN_LINKS) == []

        page.click("main a:has-text('Log in')")
        page.fill("input[name=token]", scene.admin)
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")
        assert page.locator("table.cards td[data-label=Order] a").count() == 2
        assert page.evaluate(SHORT_MAIN_LINKS) == []
    finally:
        context.close()


# the outbox's status counts (a list of links, one under the other) and every disclosure
# ("What the figures mean", "Order facts"): each a target of its own, not a line in a sentence
SHORT_LIST_TARGETS = """() => [...document.querySelectorAll("main ul.counts a, main summary")]
  .map(a => [a.textContent.trim(), Math.round(a.getBoundingClientRect().height)])
  .filter(([, h]) => h > 0 && h < 44)"""


def test_on_a_touch_phone_the_outbox_counts_and_each_disclosure_are_44_px_targets(
    phone: tuple[Any, str], served: tuple[Scene, str],  # noqa: F811
) -> None:
    """The outbox's "queued: 0", "sending: 0" … were 18 px lines stacked with no gap, and
    "What the figures mean", "Order facts" and "The request" 22 px."""
    page, base = phone
    scene, _ = served
    shown = {}
    for path in ("/finance/outbox/", "/finance/summary", "/finance/insights/costs",
                 f"/finance/decisions/{scene.approved_id}"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        shown[path] = page.evaluate(SHORT_LIST_TARGETS)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path

    assert shown == {path: [] for path in shown}
    page.goto(f"{base}/finance/outbox/")
    assert page.locator("main ul.counts a").count() == 6  # queued … failed, gone, skipped
    page.goto(f"{base}/finance/decisions/{scene.approved_id}")
    assert page.locator("main summary").all_inner_texts() == ["Order facts", "The request"]
