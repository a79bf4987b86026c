"""An item whose name has no place to break (a long German compound, words joined by "_" as
some shops' catalogues write them) on a 375 px phone: the order form, the quote, the answer and
the status page stay as wide as the screen, the name wraps, and the buttons are where a thumb
taps them, not covered by the next field. The phone walk found the form 600 px wide, to be
scrolled sideways, with "Prüfen, was ich bekomme" under the comment's label."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, reader, submit
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event
from tests.fakes.smtp_sink import SmtpSink

pytestmark = pytest.mark.browser
Serve = Callable[..., tuple[ReturnsShop, str]]
Shot = Callable[[Any, str], None]
PHONE = {"width": 375, "height": 667}
FLASK = "Edelstahl-Thermoskannen-Doppelwandvakuumisolierungsset_Premium_Edition_XXL"
BIGGER = "Edelstahl-Thermoskannen-Doppelwandvakuumisolierungsset_Premium_Edition_XXXL_Blau"

POLICY = """currency: USD
window: {days: 365, start: payment}
resolution: {allow: [refund, credit, exchange]}
exchange: {scope: same_product}
"""

# what is under a button's middle, as a tap there would find it
HIT = """(el) => { const r = el.getBoundingClientRect();
  const under = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return under === el || el.contains(under); }"""


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    wider = page.evaluate("""() => Array.from(document.querySelectorAll('main *'))
        .filter(el => el.getBoundingClientRect().right > window.innerWidth)
        .map(el => el.tagName)""")
    assert wider == []


def _tappable(page: Any, button: Any) -> None:
    button.scroll_into_view_if_needed()
    assert button.evaluate(HIT), "the button is covered where a thumb taps it"


def test_a_long_unbreakable_item_name_keeps_every_page_as_wide_as_the_phone(
    chromium: Any, serve: Serve, screenshot: Shot, tmp_path: Path,
) -> None:
    policy = tmp_path / "exchanges.yaml"
    policy.write_text(POLICY)
    shop, base = serve(policy=str(policy))
    shop.seed(order_event("1001", lines=[
        {"id": "l1", "sku": "FLASK-XXL", "name": FLASK, "quantity": 1, "unit_amount": 3999,
         "variants": [{"sku": "FLASK-XXXL", "name": BIGGER, "unit_amount": 3999,
                       "in_stock": True}]},
        {"id": "l2", "sku": "CUP", "name": "Cup", "quantity": 1, "unit_amount": 1000}]))
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                   locale="de-DE", extra_http_headers={"Accept-Language": "de"})
    try:
        page = context.new_page()
        page.goto(f"{base}/returns")
        page.locator("#order_number").fill("1001")
        page.locator("#email").fill(EMAIL.lower())
        with page.expect_navigation():
            page.locator("button[type=submit]").tap()
        page.wait_for_url(f"{base}/returns/order")

        assert page.locator("fieldset[data-line=l1] legend").inner_text() == FLASK
        _fits(page)
        check = page.get_by_role("button", name="Prüfen, was ich bekomme")
        _tappable(page, check)
        screenshot(page, "long-name-1-form")
        page.locator("#line-0-qty").select_option("1")
        page.locator("#line-0-reason").select_option("too_large")
        page.locator("#line-0-exchange").select_option("FLASK-XXXL")
        with page.expect_navigation():
            check.tap()
        assert page.get_by_role("heading", level=1).inner_text() == "Bevor Sie sie absenden"
        _fits(page)
        send = page.get_by_role("button", name="Meine Rücksendeanfrage absenden")
        _tappable(page, send)
        screenshot(page, "long-name-2-quote")

        with page.expect_navigation():
            send.tap()
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Ihre Rücksendung ist genehmigt")
        _fits(page)
        screenshot(page, "long-name-3-answer")
        with page.expect_navigation():
            page.locator("#status-link").tap()
        _fits(page)
        screenshot(page, "long-name-4-status")
        assert len(shop.rows(decisions)) == 1
    finally:
        context.close()


def test_the_emails_about_it_fit_the_phone_too(
    chromium: Any, serve: Serve, smtp: SmtpSink, tmp_path: Path, screenshot: Shot,
) -> None:
    """The same name in the "request received" and "approved" emails, read on the phone: the
    mail's table was 1058 px wide, the name and its exchange side by side."""
    policy = tmp_path / "exchanges.yaml"
    policy.write_text(POLICY)
    shop, base = serve(policy=str(policy), mail_url=smtp.url,
                       mail_from="Harbour <returns@harbour.example>")
    event = order_event("1001", lines=[
        {"id": "l1", "sku": "FLASK-XXL", "name": FLASK, "quantity": 1, "unit_amount": 3999,
         "variants": [{"sku": "FLASK-XXXL", "name": BIGGER, "unit_amount": 3999,
                       "in_stock": True}]},
        {"id": "l2", "sku": "CUP", "name": "Cup", "quantity": 2, "unit_amount": 1000}])
    event["data"]["order"]["locale"] = "de"  # the emails' language
    shop.seed(event)
    client = reader(shop, "de")
    form = open_form(client)
    answer = submit(client, form, **{
        "line-0-qty": "1", "line-0-reason": "too_large", "line-0-exchange": "FLASK-XXXL",
        "line-1-qty": "2", "line-1-reason": "changed_mind"})
    assert answer.status_code == 200
    shop.drain()
    mails = smtp.to(EMAIL.lower())
    assert [m.subject for m in mails] == [
        "Wir haben Ihre Rücksendeanfrage zu Bestellung 1001 erhalten",
        "Ihre Rücksendung zu Bestellung 1001 ist genehmigt"]

    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        for n, mail in enumerate(mails, start=1):
            page.set_content(mail.part("html"))
            screenshot(page, f"long-name-mail-{n}")
            assert FLASK in page.locator("body").inner_text().replace("\n", "")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
                mail.subject)
    finally:
        context.close()
