"""The customer's status page through the physical return on a phone (375 px, headless
Chromium driven by Playwright), in English and German: the label ready to print, the parcel on
its way, delivered, and the refund sent, each said in the reader's language, nothing wider than
the screen, and the label a thumb-sized button. A label that could not be had is said too, not
left promised. Screenshots under ``test-artifacts/shipping/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import url_for

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import return_shipments
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.easypost_api import FakeEasyPostServer, sign, tracker_event
from tests.fakes.loopback import serving
from tests.fakes.stripe_api import FakeStripeServer
from webhooks.returns.views import status_token

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "shipping"
PHONE = {"width": 375, "height": 812}
SECRET = "ep_whsec_phone"
POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: delivered
"""
ANN = {
    "name": "Ann Lee",
    "street": "9 Elm St",
    "city": "Boston",
    "postal_code": "02108",
    "region": "MA",
    "country": "US",
}

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> Iterator[tuple[Harness, FakeEasyPostServer, str, str]]:
    easypost = FakeEasyPostServer().start()
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    h = Harness(
        sqlite_url,
        clock,
        stripe_server.url,
        settings={
            "policy": str(policy),
            "easypost_webhook_secret": SECRET,
            "easypost_api_key": "EZTK_test",
            "easypost_api_base": easypost.url,
            "return_addresses": (
                ReturnAddress(
                    "Our shop returns", "1 Dock Rd", "Austin", "78701", "US", region="TX"
                ),
            ),
        },
    )
    stripe_server.fake.add_payment_intent(2500, "usd", "pi_1001")
    event = order_paid("1001", reference="pi_1001")
    event["data"]["order"]["shipping_address"] = ANN
    assert h.post_storefront(event).status_code in (200, 201)
    answer = h.post_storefront(
        return_requested(
            "r-1", "1001", lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]
        )
    )
    assert answer.status_code == 201 and answer.json is not None
    with h.app.test_request_context():
        path = url_for("returns.status", token=status_token(answer.json["decision_id"]))
    try:
        with serving(h.app) as url:
            yield h, easypost, url, path
    finally:
        h.close()
        easypost.stop()


def _track(h: Harness, event_id: str, status: str) -> None:
    code = h.rows(return_shipments)[0].tracking_code
    when = h.clock().isoformat().replace("+00:00", "Z")
    body = json.dumps(tracker_event(event_id, code, status, when)).encode()
    resp = h.client().post(
        "/webhooks/easypost",
        data=body,
        headers={"X-Hmac-Signature": sign(body, SECRET), "Content-Type": "application/json"},
    )
    assert resp.status_code == 200


# stage → (English, German): the parcel's line, and the money's
SAID = {
    "label": (
        (
            "Label ready: waiting for your parcel.",
            "Waiting for your parcel: it is sent as soon as your return reaches us.",
        ),
        (
            "Etikett bereit: Wir warten auf Ihr Paket.",
            "Wir warten auf Ihr Paket: Das Geld wird überwiesen, sobald Ihre Rücksendung bei "
            "uns ankommt.",
        ),
    ),
    "in_transit": (
        (
            "On its way back to us.",
            "Waiting for your parcel: it is sent as soon as your return reaches us.",
        ),
        (
            "Auf dem Weg zurück zu uns.",
            "Wir warten auf Ihr Paket: Das Geld wird überwiesen, sobald Ihre "
            "Rücksendung bei uns ankommt.",
        ),
    ),
    "delivered": (
        (
            "Delivered to us: we will check it shortly.",
            "Requested: we have asked for your money to be sent.",
        ),
        (
            "Bei uns angekommen: Wir prüfen es in Kürze.",
            "Angefordert: Wir haben die Überweisung Ihres Geldes veranlasst.",
        ),
    ),
    "refunded": (
        ("Delivered to us: we will check it shortly.", "Received by the payment provider."),
        ("Bei uns angekommen: Wir prüfen es in Kürze.", "Beim Zahlungsanbieter eingegangen."),
    ),
}


def _look(chromium: Any, url: str, stage: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for n, locale in enumerate(("en-US", "de-DE")):
        context = chromium.new_context(
            viewport=PHONE, locale=locale, extra_http_headers={"Accept-Language": locale}
        )
        page = context.new_page()
        try:
            page.goto(url)
            assert page.locator("html").get_attribute("lang") == locale[:2]
            parcel, money = SAID[stage][n]
            assert page.locator("p.parcel").inner_text() == parcel
            assert money in page.locator("main").inner_text()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{stage} ({locale}) is {width} px wide"
            if stage == "label":
                box = page.locator("#label-link").bounding_box()
                assert box is not None and box["height"] >= 44 and box["width"] >= 300
            page.screenshot(path=ARTIFACTS / f"parcel-{stage}-{locale}.png", full_page=True)
        finally:
            context.close()


def test_the_status_page_follows_the_parcel_on_a_phone_in_english_and_german(
    shop: tuple[Harness, FakeEasyPostServer, str, str],
    chromium: Any,
) -> None:
    h, _, url, path = shop
    runtime_desk = h.runtime.shipping_desk
    assert runtime_desk is not None and runtime_desk.run_once() == 1
    _look(chromium, url + path, "label")
    h.clock.advance(86400)
    _track(h, "evt_1", "in_transit")
    _look(chromium, url + path, "in_transit")
    h.clock.advance(86400)
    _track(h, "evt_2", "delivered")
    _look(chromium, url + path, "delivered")
    h.drain()
    _look(chromium, url + path, "refunded")
