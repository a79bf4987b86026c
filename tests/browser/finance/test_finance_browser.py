"""The finance pages in headless Chromium (Debian's, driven by Playwright): log in, filter, open a
decision, approve a review, see the summary chart. A screenshot of each page is kept under
``test-artifacts/finance/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from refunds_plugin.notify.courier import Courier
from tests.browser.finance.phone import DESK, PHONE, broken_figures, one_line, problems
from tests.fakes.finance_scene import Scene, make_scene
from tests.fakes.loopback import serving

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "finance"

pytestmark = pytest.mark.browser


@pytest.fixture
def served(sqlite_url: str, now: datetime) -> Iterator[tuple[Scene, str]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); never downloaded")
    scene = make_scene(sqlite_url, now)
    try:
        with serving(scene.shop.app) as url:
            yield scene, url
    finally:
        scene.shop.runtime.engine.dispose()


def test_an_admin_logs_in_filters_opens_a_decision_approves_and_sees_the_chart(
    served: tuple[Scene, str], chromium: Any,
) -> None:
    from playwright.sync_api import expect

    scene, base = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(java_script_enabled=False)  # the pages need no JavaScript
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/login")
        page.screenshot(path=ARTIFACTS / "1-login.png", full_page=True)
        page.fill("input[name=token]", scene.admin)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Decisions")
        page.screenshot(path=ARTIFACTS / "2-decisions.png", full_page=True)

        page.select_option("select[name=outcome]", "review")
        page.click("text=Filter")
        assert "outcome=review" in page.url
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("o-2")
        page.screenshot(path=ARTIFACTS / "3-filtered.png", full_page=True)

        page.click("a:has-text('o-2')")
        expect(page.locator("h1")).to_have_text("Decision for order o-2")
        expect(page.locator("blockquote.explanation")).to_contain_text("365-day return window")
        expect(page.locator("text=Rule trace")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "4-decision.png", full_page=True)

        page.click("nav >> text=Review queue")
        page.fill("input[name=note]", "Long-standing customer; accept the late return")
        page.click("button[value=approve]")
        expect(page.locator(".notice")).to_have_text("Approved the review of order o-2.")
        expect(page.locator("main")).to_contain_text("Nothing is waiting for review.")
        page.screenshot(path=ARTIFACTS / "5-review-approved.png", full_page=True)

        page.goto(f"{base}/finance/summary?since=2026-11-01&until=2026-12-01")
        chart = page.locator("svg.chart")
        expect(chart).to_be_visible()
        assert chart.locator("rect.dry_run").count() == 1  # dry run: no money moved
        # every day of November has its place, empty ones too; a label in every four days,
        # none touching the next; the amount marks are round (the approved 40.00 is pending)
        expect(chart.locator("g.day")).to_have_count(30)
        ticks = chart.locator("text.x-tick")
        expect(ticks).to_have_text(["11-01", "11-05", "11-09", "11-13", "11-17", "11-21",
                                    "11-25", "11-29"])
        boxes = [ticks.nth(k).bounding_box() for k in range(8)]
        assert all(a and b and a["x"] + a["width"] < b["x"]
                   for a, b in zip(boxes, boxes[1:], strict=False))
        expect(chart.locator("text.y-tick")).to_have_text(["0.00", "10.00", "20.00", "30.00"])
        page.screenshot(path=ARTIFACTS / "6-summary.png", full_page=True)
    finally:
        context.close()
    with scene.shop.runtime.engine.connect() as conn:
        attempts = conn.execute(text(
            "SELECT amount, status FROM refund_attempts WHERE decision_id = :d"),
            {"d": scene.review_id}).all()
    assert [tuple(a) for a in attempts] == [(4000, "pending")]
    assert sorted(p.name for p in ARTIFACTS.glob("*.png")) == [
        "1-login.png", "2-decisions.png", "3-filtered.png", "4-decision.png",
        "5-review-approved.png", "6-summary.png"]


def test_the_finance_pages_fit_a_375_px_phone(served: tuple[Scene, str], chromium: Any) -> None:
    """Every finance page with a table, the summary's chart and the forms on a 375 px screen:
    the page never scrolls sideways (a wide table scrolls inside its own box), no amount, status,
    address or heading is broken mid-word, the chart fits with its text at 10 px or more, and
    every button is a 44 px tap target."""
    from playwright.sync_api import expect

    scene, base = served
    shots = ARTIFACTS.parent / "finance-phone"
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=True)
    page = context.new_page()

    def fits(name: str) -> None:
        page.screenshot(path=shots / f"{name}.png", full_page=True)
        assert problems(page) == [], name

    try:
        page.goto(f"{base}/finance/login")
        fits("0-login")
        page.fill("input[name=token]", scene.admin)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Decisions")
        row = page.locator("tbody tr", has_text="o-2")
        expect(row.locator("td[data-label=Amount]")).to_have_text("40.00 EUR")
        expect(row.locator("td[data-label=Review]")).to_have_text("waiting for a person")
        expect(page.locator("tbody tr", has_text="o-1").locator("td[data-label=Money]")
               ).to_have_text("dry_run")
        fits("1-decisions")

        # the money movements' seven columns are wider than the phone: their box scrolls,
        # the amount and the status each stay on one line
        page.goto(f"{base}/finance/decisions/{scene.approved_id}")
        expect(page.locator("h1")).to_have_text("Decision for order o-1")
        attempts = page.locator("table.attempts tbody tr")
        expect(attempts.locator("td.num")).to_have_text("25.00 EUR")
        expect(attempts.locator("td.status-dry_run")).to_have_text("dry_run")
        assert one_line(page, "table.attempts td.num, table.attempts td[class^=status], "
                              "table.attempts th, table.messages td") == [1] * (7 + 2 + 3 * 4)
        assert page.eval_on_selector(
            "table.attempts", "t => t.parentElement.scrollWidth > t.parentElement.clientWidth")
        fits("2-decision-money")

        page.goto(f"{base}/finance/decisions/{scene.review_id}")
        expect(page.locator("h1")).to_have_text("Decision for order o-2")
        expect(page.locator("blockquote.explanation")).to_contain_text("365-day return window")
        expect(page.locator("dd", has_text="refund · 40.00 EUR")).to_be_visible()
        fits("2-decision-review")

        page.goto(f"{base}/finance/summary?since=2026-11-01&until=2026-12-01")
        expect(page.locator("svg.chart")).to_be_visible()
        expect(page.locator("td[data-label=Captured]")).to_have_text("25.00 EUR")
        expect(page.locator("svg.chart .chart-title")).to_have_text("Money per day in EUR")
        fits("3-summary")

        page.goto(f"{base}/finance/reviews")
        review = page.locator(f"#review-{scene.review_id}")
        expect(review.locator("h2")).to_have_text("Order o-2 · 40.00 EUR")
        expect(review.locator("input[name=note]")).to_be_visible()
        expect(review.locator("input[name=amount]")).to_be_visible()
        expect(review.locator("button[value=approve]")).to_be_visible()
        expect(review.locator("button[value=decline]")).to_be_visible()
        fits("4-review")

        # the email preview: the email keeps its own inline styles inside the finance page
        page.goto(f"{base}/finance/outbox/preview?kind=in_review&decision={scene.review_id}")
        expect(page.locator("h1")).to_have_text("What “in_review” would say")
        mail = page.frame_locator("iframe.mail-html")
        expect(mail.locator("body")).to_have_css("background-color", "rgb(244, 244, 244)")
        expect(mail.locator("td[style*='font-size:20px']")).to_have_css(
            "background-color", "rgb(31, 75, 153)")  # the shop's colour, #1f4b99 by default
        fits("5-email-preview")
        # a long kind in the heading is one word a phone must break, not widen the page for
        page.goto(f"{base}/finance/outbox/preview?kind=exchange_unavailable"
                  f"&decision={scene.review_id}")
        expect(page.locator("h1")).to_have_text("What “exchange_unavailable” would say")
        fits("5-email-preview-long-kind")

        page.goto(f"{base}/finance/outbox/")
        expect(page.locator("h1")).to_have_text("Outbox: emails and events")
        fits("6-outbox")

        page.goto(f"{base}/finance/follow-ups?status=all")
        expect(page.locator("h1")).to_have_text(
            "Follow-ups: failed payments, refused labels, exchanges and Saleor returns")
        fits("7-follow-ups")

        page.goto(f"{base}/finance/tokens/")
        expect(page.locator("tbody tr", has_text="Fin Reader")).to_have_count(1)
        fits("8-tokens")
        page.click("a.button:has-text('Revoke #2')")  # the question first, on a phone too
        expect(page.locator("h1")).to_have_text("Revoke token #2 (Fin Reader, finance)?")
        fits("8-tokens-revoke")

        page.goto(f"{base}/finance/receive?q=o-1")
        fits("9-receive")
    finally:
        context.close()


CAPTURED = "12,475.44 EUR"  # o-1 (25.00) and the three below; o-2 was paid 400 days ago


def test_on_a_desk_amounts_and_times_stay_on_one_line(
    served: tuple[Scene, str], chromium: Any,
) -> None:
    """At 1280 × 800 the decisions list and the summary keep every amount (``103.95 EUR``) and
    every time (``2026-12-05 18:49 UTC``) on one line, however long the cells beside them."""
    from playwright.sync_api import expect

    scene, base = served
    shop = scene.shop
    for n, amount in enumerate((10395, 1234550, 99), start=3):
        shop.order(f"o-{n}", amount, f"a.rather.long.customer.address.number{n}@example-shop.com")
        shop.ask_return(f"o-{n}", f"r-{n}")
    shop.pay_out()
    shots = ARTIFACTS.parent / "finance-desk"
    shots.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=DESK, java_script_enabled=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", scene.admin)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Decisions")
        expect(page.locator("tbody tr", has_text="o-3").locator("td[data-label=Amount]")
               ).to_have_text("103.95 EUR")
        page.screenshot(path=shots / "1-decisions.png", full_page=True)
        assert broken_figures(page) == []
        page.goto(f"{base}/finance/summary?since=2026-11-01&until=2026-12-01")
        expect(page.locator("td[data-label=Captured]")).to_have_text(CAPTURED)
        page.screenshot(path=shots / "2-summary.png", full_page=True)
        assert broken_figures(page) == []
    finally:
        context.close()


def test_an_empty_log_in_shows_the_servers_message_with_the_focus_on_it(
    served: tuple[Scene, str], chromium: Any,
) -> None:
    from playwright.sync_api import expect

    _scene, base = served
    context = chromium.new_context()
    page = context.new_page()
    page.bring_to_front()  # Chromium focuses an autofocus element only in the focused page
    try:
        page.goto(f"{base}/finance/login")
        page.click("button[type=submit]")  # no token: the browser's bubble must not stop it
        expect(page.locator("#login-error")).to_have_text("Please enter your token.")
        expect(page.locator("#login-error")).to_be_focused(timeout=20000)
    finally:
        context.close()


SHORT_CONTROLS = """() => [...document.querySelectorAll("button, select, input:not([type=hidden])")]
    .filter(e => !["checkbox", "radio"].includes(e.type))
    .map(e => [e.name || e.textContent.trim(), e.getBoundingClientRect().height])
    .filter(([, h]) => h > 0 && h < 44)"""


def test_on_a_touch_tablet_every_control_of_the_review_queue_is_a_44_px_target(
    served: tuple[Scene, str], chromium: Any,
) -> None:
    scene, base = served
    context = chromium.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/login")
        assert page.evaluate(SHORT_CONTROLS) == []
        page.fill("input[name=token]", scene.admin)
        page.click("button[type=submit]")
        page.goto(f"{base}/finance/reviews")
        assert page.locator("button[value=approve]").is_visible()
        assert page.evaluate(SHORT_CONTROLS) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 768
    finally:
        context.close()


def test_on_a_desk_the_outbox_keeps_its_times_on_one_line_and_says_why_in_view(
    served: tuple[Scene, str], chromium: Any,
) -> None:
    """At 1280 × 800 the outbox writes each time (``2026-12-05 18:49 UTC``) on one line, not as
    ``2026-`` / ``12-07`` / ``09:40`` / ``UTC``, and its Why column (why a message was not sent)
    is in view, not cut off at the table's edge: a long address or cause wraps instead."""
    from playwright.sync_api import expect

    scene, base = served
    shop = scene.shop
    shop.order("o-3", 10395,
               "averyveryverylongcustomeraddress.with.dots@subdomain.example-shop.com")
    shop.ask_return("o-3", "r-3")
    rt = shop.runtime  # no mail server nor endpoint: each message is skipped, saying why
    Courier(rt.engine, rt.config, lambda: shop.now, rt.renderer, None, None).drain()
    context = chromium.new_context(viewport=DESK, java_script_enabled=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", scene.admin)
        page.click("button[type=submit]")
        page.goto(f"{base}/finance/outbox/")
        expect(page.locator("h1")).to_have_text("Outbox: emails and events")
        page.screenshot(path=ARTIFACTS.parent / "finance-desk-outbox.png", full_page=True)
        assert broken_figures(page) == []
        assert page.eval_on_selector(
            "table.outbox", "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
        why = page.locator("table.outbox td[data-label=Why]").first
        expect(why).to_contain_text("not sent: REFUNDS_")
        assert why.bounding_box()["x"] + why.bounding_box()["width"] <= DESK["width"]
    finally:
        context.close()
