"""Text no database row can hold is refused where it comes in, alike on SQLite and PostgreSQL:
a NUL (``\\u0000``) anywhere, a control character in an id, an id longer than its column.
PostgreSQL cannot take either (psycopg's DataError was a 500 "please retry"), SQLite kept them.

Webhooks answer 400 naming the field (Stripe: 200 with ``refused``, so it stops retrying);
the finance lookups 404 (an id in the path) or 400 (a query parameter); the returns page shows
its form again, in the customer's language. Nothing is recorded by any of them.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

import pytest
from werkzeug.test import TestResponse

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import orders, payments
from tests.fakes import Harness, order_paid, return_requested, stripe_event
from tests.fakes.returns_client import lookup, open_form, reader, submit
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event

NUL = "\x00"
LONG = "x" * 1000
NOTHING = {"events": 0, "decisions": 0, "refund_attempts": 0, "ledger_entries": 0}


def _refusal(resp: TestResponse) -> tuple[int, str, list[str]]:
    err = resp.get_json()["error"]
    return resp.status_code, err["code"], err.get("fields", [])


def _order(**change: Any) -> dict[str, Any]:
    event = order_paid()
    event["data"]["order"].update(change)
    return event


def _line(**change: Any) -> dict[str, Any]:
    event = order_paid()
    event["data"]["order"]["lines"][0].update(change)
    return event


NUL_MESSAGE = "must not contain a NUL character (\\u0000)"


@pytest.mark.parametrize(("event", "field"), [
    pytest.param(_order(id=f"10{NUL}01"), f"data.order.id: {NUL_MESSAGE}", id="nul-order-id"),
    pytest.param(_line(name=f"Mug{NUL}"), f"data.order.lines.0.name: {NUL_MESSAGE}",
                 id="nul-line-name"),
    pytest.param({**order_paid(), "id": f"evt{NUL}1"}, f"id: {NUL_MESSAGE}", id="nul-event-id"),
    pytest.param(_order(customer={"id": LONG, "email": "ann@example.com"}),
                 "data.order.customer.id: is longer than 255 characters (1000)",
                 id="long-customer-id"),
    pytest.param(_line(sku=LONG), "data.order.lines.0.sku: is longer than 255 characters (1000)",
                 id="long-sku"),
    pytest.param(_line(id="l\n1"), "data.order.lines.0.id: must not contain control characters "
                 "(\\u0000-\\u001f, \\u007f)", id="newline-in-line-id"),
])
def test_an_order_with_unstorable_text_is_400_naming_the_field_and_records_nothing(
    harness: Harness, event: dict[str, Any], field: str,
) -> None:
    resp = harness.post_storefront(event)

    assert _refusal(resp) == (400, "invalid_payload", [field])
    assert harness.money_rows() == NOTHING
    assert harness.count(orders) == 0


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"comment": f"Too{NUL} small"}, f"data.return.comment: {NUL_MESSAGE}",
                 id="nul-comment"),
    pytest.param({"id": "r" * 249},
                 "data.return.id: is longer than 248 characters (249)", id="long-return-id"),
])
def test_a_return_with_unstorable_text_is_400_naming_the_field_and_records_nothing(
    harness: Harness, change: dict[str, Any], field: str,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    before = harness.money_rows()
    event = return_requested()
    event["data"]["return"].update(change)

    resp = harness.post_storefront(event)

    assert _refusal(resp) == (400, "invalid_payload", [field])
    assert harness.money_rows() == before


def _intent(**change: Any) -> dict[str, Any]:
    return {"id": "pi_123", "object": "payment_intent", "amount": 5500,
            "amount_received": 5500, "currency": "usd", "customer": "cus_ann",
            "latest_charge": "ch_123", "status": "succeeded",
            "metadata": {"order_id": "1001"}, **change}


@pytest.mark.parametrize(("obj", "field"), [
    pytest.param(_intent(metadata={"order_id": LONG}),
                 "data.object.metadata.order_id: is longer than 255 characters (1000)",
                 id="long-order-id"),
    pytest.param(_intent(metadata={"order_id": f"10{NUL}01"}),
                 f"data.object.metadata.order_id: {NUL_MESSAGE}", id="nul-order-id"),
    pytest.param(_intent(id=f"pi_{NUL}1"), f"data.object.id: {NUL_MESSAGE}", id="nul-intent-id"),
    pytest.param(_intent(customer=LONG),
                 "data.object.customer: is longer than 255 characters (1000)", id="long-customer"),
])
def test_a_stripe_event_with_unstorable_text_is_refused_with_400_and_records_nothing(
    harness: Harness, obj: dict[str, Any], field: str, caplog: pytest.LogCaptureFixture,
) -> None:
    resp = harness.post_stripe(stripe_event("evt_pi_1", "payment_intent.succeeded", obj))

    assert (resp.status_code, resp.get_json()) == (400, {"error": {
        "code": "invalid_payload", "message": field, "fields": [field]}})
    assert harness.money_rows() == NOTHING
    assert (harness.count(payments), harness.count(orders)) == (0, 0)
    assert [r.getMessage() for r in caplog.records if r.name == "refunds.stripe"] == [
        f"stripe event evt_pi_1 refused, nothing recorded (invalid_payload): {field}"]


# --- the finance lookups --------------------------------------------------------------------


def _tokens(harness: Harness, now: datetime) -> dict[str, str]:
    engine = harness.runtime.engine
    return {"Authorization": f"Bearer {create_token(engine, 'Fin', 'admin', now).secret}"}


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/api/decisions?customer=%00", 400, "invalid_parameter"),
    ("GET", "/api/attempts?order=1%0001", 400, "invalid_parameter"),
    ("POST", "/api/outbox/%00/resend", 404, "not_found"),
    ("POST", "/api/reviews/%00", 404, "not_found"),
])
def test_a_finance_api_lookup_with_a_nul_is_404_or_400_never_500(
    harness: Harness, now: datetime, method: str, path: str, status: int, code: str,
) -> None:
    auth = _tokens(harness, now)
    assert harness.post_storefront(order_paid()).status_code == 200
    before = harness.money_rows()

    resp = harness.client().open(path, method=method, headers=auth,
                                 json={"action": "approve"} if method == "POST" else None)

    assert (resp.status_code, resp.get_json()["error"]["code"]) == (status, code)
    assert harness.money_rows() == before


@pytest.mark.parametrize(("path", "status", "said"), [
    ("/finance/decisions/%00", 404, "There is no finance page at this address."),
    ("/finance/outbox/preview?kind=approved&decision=%00", 400,
     "decision: must not contain a NUL character (\\u0000)"),
    ("/finance/?customer=%00", 400, "customer: must not contain a NUL character (\\u0000)"),
])
def test_a_finance_page_with_a_nul_in_its_address_is_a_page_saying_so(
    harness: Harness, now: datetime, path: str, status: int, said: str,
) -> None:
    resp = harness.client().get(path, headers={**_tokens(harness, now), "Accept": "text/html"})

    assert (resp.status_code, resp.mimetype) == (status, "text/html")
    assert said in resp.get_data(as_text=True).replace("&#34;", '"')


def test_a_review_note_with_a_nul_is_400_naming_it_and_decides_nothing(
    harness: Harness, now: datetime,
) -> None:
    body = json.dumps({"action": "approve", "note": f"ok{NUL}"})

    resp = harness.client().post("/api/reviews/d-1", data=body, headers={
        **_tokens(harness, now), "Content-Type": "application/json"})

    assert _refusal(resp) == (400, "invalid_payload", [f"note: {NUL_MESSAGE}"])


# --- the returns page ------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "said"), [
    ("en", "What you entered contains an invisible control character that we cannot accept."),
    ("de", "Ihre Eingabe enthält ein unsichtbares Steuerzeichen, das wir nicht annehmen "
           "können."),
    ("es", "Lo que has escrito contiene un carácter de control invisible que no podemos "
           "aceptar. Elimínalo (escribe el texto de nuevo en lugar de pegarlo) e inténtalo otra "
           "vez."),  # "tú", as every other Spanish sentence (it said "ha escrito … Elimínelo")
])
@pytest.mark.parametrize(("number", "email"), [
    pytest.param(f"10{NUL}01", EMAIL, id="nul-order-number"),
    pytest.param("1001", f"{EMAIL}{NUL}", id="nul-email"),
    pytest.param("10\x0101", EMAIL, id="control-in-order-number"),
])
def test_the_returns_lookup_with_a_nul_shows_its_form_again_in_the_customers_language(
    any_db_url: str, now: datetime, accept: str, said: str, number: str, email: str,
) -> None:
    shop = ReturnsShop(any_db_url, lambda: now)
    shop.seed(order_event("1001"))
    before = shop.snapshot()

    resp = lookup(reader(shop, accept), number, email)

    page = resp.get_data(as_text=True)
    assert (resp.status_code, resp.mimetype) == (400, "text/html")
    assert said in page
    assert 'name="order_number"' in page and NUL not in page
    assert shop.snapshot() == before
    shop.close()


def test_a_return_comment_with_a_nul_shows_the_form_again_and_records_nothing(
    any_db_url: str, now: datetime,
) -> None:
    shop = ReturnsShop(any_db_url, lambda: now)
    shop.seed(order_event("1001"))
    client = reader(shop, "fr")
    form = open_form(client)
    before = shop.snapshot()

    resp = submit(client, form, **{"line-0-qty": "1", "line-0-reason": "damaged",
                                   "comment": f"cassé{NUL}", "resolution": "refund"})

    assert (resp.status_code, resp.mimetype) == (400, "text/html")
    assert ("Votre saisie contient un caractère de contrôle invisible que nous ne pouvons pas "
            "accepter.") in html.unescape(resp.get_data(as_text=True))
    assert shop.snapshot() == before
    shop.close()
