"""The insights pages and the feedback click in headless Chromium (Debian's, driven by
Playwright) at a phone's size (375 × 812): a finance reader opens Insights, asks which products
come back as not as described, reads each page's chart and table without sideways scrolling, and
a customer answers "How did we do?" with one tap on the status page. A screenshot of each page is
kept under ``test-artifacts/insights/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import feedback
from tests.browser.finance.phone import PHONE, problems
from tests.fakes import Clock, Harness
from tests.fakes.insights_history import DECIDED, POLICY, History, make_history
from tests.fakes.loopback import serving
from tests.fakes.stripe_api import FakeStripeServer
from webhooks.returns.views import status_token

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "insights"

pytestmark = pytest.mark.browser


@pytest.fixture
def served(sqlite_url: str, stripe_server: FakeStripeServer, tmp_path: Path
           ) -> Iterator[tuple[Harness, History, str]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); never downloaded")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate

    migrate(make_engine(sqlite_url))
    h = Harness(sqlite_url, Clock(DECIDED), stripe_server.url,
                settings={"policy": str(policy), "secret_key": "browser-insights-key"})
    history = make_history(h, stripe_server.fake)
    h.clock.advance(3600)  # the pages' default period ends now: the returns are an hour old
    try:
        with serving(h.app) as url:
            yield h, history, url
    finally:
        h.close()


def fits(page: Any) -> bool:
    """Nothing wider than the phone's screen: the page never scrolls sideways."""
    return bool(page.evaluate(
        "document.scrollingElement.scrollWidth <= window.innerWidth + 1"))


def painted(page: Any, selector: str) -> tuple[str, str]:
    """The fill and fill-opacity the browser computed for the first shape matching selector."""
    fill, opacity = page.eval_on_selector(
        selector, "e => [getComputedStyle(e).fill, getComputedStyle(e).fillOpacity]")
    return str(fill), str(opacity)


def test_insights_pages_and_the_feedback_tap_on_a_phone(
    served: tuple[Harness, History, str], chromium: Any,
) -> None:
    from playwright.sync_api import expect

    h, history, base = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    token = create_token(h.runtime.engine, "Fin Reader", "finance", h.clock()).secret
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    console: list[tuple[str, str, str]] = []  # (type, text, page) of every error and warning
    page.on("console", lambda m: console.append((m.type, m.text, page.url))
            if m.type in ("error", "warning") else None)
    try:
        # a customer taps "4" under "How did we do?" on the status page
        with h.app.test_request_context():
            status = status_token(history.decisions["r-1"])
        page.goto(f"{base}/returns/status/{status}")
        expect(page.locator("#rate-us h2")).to_have_text("How did we do?")
        page.screenshot(path=ARTIFACTS / "1-status-asks.png", full_page=True)
        assert fits(page)
        page.click("#rate-us button[value='4']")
        expect(page.locator("#rate-us-done")).to_have_text("We have your answer: 4 of 5.")
        page.fill("textarea[name=comment]", "Quick and fair")
        page.click(".rate-us-comment button[type=submit]")
        expect(page.locator("#rate-us-done")).to_have_text(
            "We have changed your answer to 4 of 5. We have your comment too. "
            "Thank you for telling us.")
        page.screenshot(path=ARTIFACTS / "2-feedback-thanks.png", full_page=True)
        assert fits(page)
        with h.runtime.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(
                select(feedback.c.rating, feedback.c.comment, feedback.c.changes))] == [
                (4, "Quick and fair", 1)]

        # finance reads the insights
        page.goto(f"{base}/finance/login")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        page.click("nav >> text=Insights")
        expect(page.locator("h1")).to_have_text("Insights")
        assert problems(page) == []
        page.click("#not-as-described")
        expect(page.locator("h1")).to_have_text("Why things come back")
        rows = page.locator("#reasons-table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("SHIRT")
        expect(rows.first).to_contain_text("66.67 %")
        expect(page.locator("svg.insight-chart")).to_have_count(1)
        expect(page.locator("svg.insight-chart").first).to_be_visible()
        expect(page.locator("ul.comments")).to_contain_text(
            "The colour looks nothing like the photo")
        page.screenshot(path=ARTIFACTS / "3-not-as-described.png", full_page=True)
        assert problems(page) == []

        # the page's own link and Show pressed unchanged keep its period (today included):
        # Until stays empty, meaning now, instead of today's midnight
        page.goto(f"{base}/finance/insights/reasons?since=2026-05-01")
        expect(page.locator("input[name=until]")).to_have_value("")
        expect(page.locator("#period-hint")).to_contain_text("an empty Until means now")
        page.click("text=Which products come back as “not as described”")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("SHIRT")
        expect(rows.first).to_contain_text("0.00 % (0 of 1)")  # the rate before, with its n
        page.click("form.filters >> text=Show")
        expect(rows.first).to_contain_text("66.67 %")
        expect(page.locator("#reasons-table")).not_to_contain_text(
            "Nothing sold or returned in this period.")

        # Compare, then Compare again unchanged: the same decisions
        page.goto(f"{base}/finance/insights/compare")
        page.select_option("select[name=preset]", "credit-first")
        page.fill("input[name=since]", "2026-05-01")
        page.click("form.filters >> text=Compare")
        compared = page.locator("p", has_text="decision(s) compared")
        expect(compared).to_contain_text("4 decision(s) compared")
        page.click("form.filters >> text=Compare")
        expect(compared).to_contain_text("4 decision(s) compared")
        expect(page.locator("#period-shown")).to_have_text(
            "Return decisions from 2026-05-01 00:00 UTC until 2026-06-01 13:00 UTC (now).")
        assert problems(page) == []

        for path, heading, shot in (
                ("costs", "What returns cost", "4-costs.png"),
                ("retention?since=2026-05-01&until=2026-06-15", "Who comes back",
                 "5-retention.png"),
                ("feedback", "How customers feel", "6-feedback.png")):
            page.goto(f"{base}/finance/insights/{path}")
            expect(page.locator("h1")).to_have_text(heading)
            expect(page.locator("svg.insight-chart").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / shot, full_page=True)
            assert problems(page) == [], path
        # a period with nothing in it: "No data" whole, inside the chart, on the phone
        page.goto(f"{base}/finance/insights/retention?since=2026-01-01&until=2026-01-31")
        expect(page.locator("svg.insight-chart text.no_data")).to_have_text("No data")
        page.screenshot(path=ARTIFACTS / "5-retention-empty.png", full_page=True)
        assert problems(page) == []
        page.goto(f"{base}/finance/insights/costs")
        expect(page.locator("#costs-table")).to_contain_text("106.70 USD")
        # drawn in the shop's colours, not black: pygal's own <style> is refused by the CSP
        assert painted(page, "svg.insight-chart .series.color-0 .rect") == (
            "rgb(31, 75, 153)", "0.7")
        assert painted(page, "svg.insight-chart .plot > .background") == (
            "rgb(255, 255, 255)", "1")
        # a chart of one series has no legend; retention's three windows have one
        page.goto(f"{base}/finance/insights/retention?since=2026-05-01&until=2026-06-15")
        assert painted(page, "svg.insight-chart .legends .legend text") == (
            "rgba(0, 0, 0, 0.87)", "1")
        page.goto(f"{base}/finance/insights/feedback?since=2026-05-01&until=2026-06-15")
        expect(page.locator("#feedback-table")).to_contain_text("not_as_described")
        expect(page.locator("ul.comments")).to_contain_text("Quick and fair")
        h.clock.advance(183 * 86_400)  # 2026-12-01: every window has passed for everyone
        later = create_token(h.runtime.engine, "Fin Reader", "finance", h.clock()).secret
        page.goto(f"{base}/finance/login")  # the session of June has long ended
        page.fill("input[name=token]", later)
        page.click("button[type=submit]")
        page.goto(f"{base}/finance/insights/retention?since=2026-05-01&until=2026-06-15")
        expect(page.locator("#caveat")).to_contain_text("An association, not a proof")
        no_return = page.locator("#retention-table tbody tr", has_text="no return")
        expect(no_return).to_have_count(3)
        expect(no_return.first).to_contain_text("1 of 2")  # eve came back, fay did not
        expect(no_return.first).to_contain_text("50.00 %")
        # nothing the CSP refused: no inline <style>, no style="..." in the SVG (it logged one
        # error per chart and one per tooltip before)
        blocked = [(url, text) for _kind, text, url in console
                   if "Content Security Policy" in text]
        assert blocked == []
    finally:
        context.close()
