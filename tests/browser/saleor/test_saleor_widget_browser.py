"""The order widget in headless Chromium (Debian's, driven by Playwright), framed the way Saleor's
Dashboard frames it: a page on another origin auto-submits the hidden form (``saleorApiUrl``,
``accessToken``, ``appId``, ``orderId``) into a sandboxed iframe, as the Dashboard's
``IframePost`` does. A staff user reads the decision and approves the review inside the frame;
a Dashboard on an origin the service does not know cannot frame it. Screenshots go to
``test-artifacts/saleor/``."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import select
from werkzeug.wrappers import Response

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import reviews
from tests.fakes import Clock
from tests.fakes.loopback import Loopback
from tests.fakes.saleor_api import API_URL, APP_ID, FakeSaleor, rsa_key
from tests.fakes.saleor_harness import SaleorHarness
from tests.fakes.saleor_tokens import STAFF_EMAIL, STAFF_ID, claims, issue

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "saleor"
ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
# the Dashboard's IframePost: hidden form, auto-submitted into the extension's sandboxed iframe
DASHBOARD = """<!doctype html><html><head><meta name="viewport" content="width=device-width">
<title>Order #1001 · Dashboard</title></head><body><h1>Order #1001</h1>
<form id="f" action="{url}" method="POST" target="ext-frame-widget">
<input type="hidden" name="saleorApiUrl" value="{api}">
<input type="hidden" name="accessToken" value="{token}">
<input type="hidden" name="appId" value="{app}">
<input type="hidden" name="orderId" value="{order}"></form>
<iframe name="ext-frame-widget"
 sandbox="allow-same-origin allow-forms allow-scripts allow-downloads"
 style="width:100%;height:640px;border:0"></iframe>
<script>
const frame = document.querySelector("iframe");
frame.addEventListener("load", () => {{
  frame.dataset.loads = String(Number(frame.dataset.loads || 0) + 1);
}});
document.getElementById("f").submit();
</script></body></html>"""

pytestmark = pytest.mark.browser


@pytest.fixture
def world(sqlite_url: str, now: datetime) -> Iterator[Callable[[bool], tuple[Any, str, str]]]:
    """``start(allowed)`` → (harness, dashboard page URL, decision id): the app on 127.0.0.1, a
    "Dashboard" on localhost (another site), allowed to frame the widget or not."""
    running: list[Any] = []
    clock = Clock(now)
    migrate(make_engine(sqlite_url))
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.start()
    page_html: dict[str, str] = {}

    def dashboard(environ: Any, start_response: Any) -> Any:
        return Response(page_html["body"], mimetype="text/html")(environ, start_response)

    def start(allowed: bool) -> tuple[Any, str, str]:
        dash = Loopback(dashboard, "localhost").start()
        running.append(dash)
        dash_url = dash.url
        saleor = FakeSaleor(mock)
        shop = SaleorHarness(
            sqlite_url, clock, saleor,
            saleor_dashboard_urls=(dash_url,) if allowed else ("http://localhost:1",),
        )
        app_server = Loopback(shop.app).start()
        running.append(app_server)
        base = app_server.url
        assert shop.install().status_code == 200
        saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
        assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
        saleor.refund_outside(ORDER, "25.00")
        decision_id = shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()[
            "decision_id"]
        token = issue(claims(clock.now), rsa_key("one"), "kid-1")
        page_html["body"] = DASHBOARD.format(
            url=f"{base}/saleor/widget/order", api=API_URL, token=html.escape(token),
            app=APP_ID, order=ORDER)
        running.append(shop)
        return shop, f"{dash_url}/orders/1001", decision_id

    yield start
    for item in running:
        if isinstance(item, SaleorHarness):
            item.close()
        else:
            item.stop()
    mock.stop()
    mock.reset()


def _loaded(page: Any, times: str) -> None:
    """Wait until the frame has loaded ``times`` times (the Dashboard counts in ``data-loads``),
    with Playwright's matcher: the widget's CSP refuses the eval ``wait_for_function`` polls by."""
    from playwright.sync_api import expect

    expect(page.locator("iframe")).to_have_attribute("data-loads", times)


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_staff_user_reads_the_decision_and_approves_the_review_inside_the_dashboard(
    chromium: Any, world: Callable[[bool], tuple[Any, str, str]]
) -> None:
    shop, dashboard_url, decision_id = world(True)
    page = chromium.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(dashboard_url)
    _loaded(page, "1")
    frame = page.frame(name="ext-frame-widget")
    assert frame is not None
    assert frame.get_by_role("heading", level=1).inner_text() == (
        "Returns and refunds · order #1001")
    card = frame.locator(f"[data-decision='{decision_id}']")
    assert card.locator(".money").inner_text() == "Refund: 5.00 USD — No money has moved"
    assert card.locator(".badge").inner_text() == "review"
    assert card.locator(".review-state").inner_text().startswith("Waiting for a review: ")
    assert frame.locator("body").evaluate(
        "b => b.scrollWidth <= document.documentElement.clientWidth")  # nothing off-screen
    _shot(page, "widget-1-review")

    card.get_by_label("Why (the customer is not shown this)").fill("Confirmed with the customer")
    card.get_by_role("button", name="Approve").click()
    _loaded(page, "2")
    assert frame.get_by_role("status").inner_text() == "Approved."
    who = f"{STAFF_EMAIL} (Saleor staff {STAFF_ID} @ shop.example.com)"
    assert frame.locator(".review-state").inner_text() == (
        f"Review approved by {who}: “Confirmed with the customer”")
    _shot(page, "widget-2-approved")
    with shop.engine.connect() as conn:
        [row] = conn.execute(select(reviews)).all()
    assert (row.status, row.decided_by) == ("approved", who)
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.amount, attempt.status) == (500, "sent")
    page.close()


def test_a_dashboard_the_service_does_not_know_cannot_frame_the_widget(
    chromium: Any, world: Callable[[bool], tuple[Any, str, str]]
) -> None:
    shop, dashboard_url, decision_id = world(False)
    page = chromium.new_page()
    page.goto(dashboard_url)
    _loaded(page, "1")
    frame = page.frame(name="ext-frame-widget")
    assert frame is not None
    assert "Returns and refunds" not in frame.content()
    assert decision_id not in frame.content()
    page.close()
