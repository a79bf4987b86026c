"""What the answers say, word for word: a line already returned or named twice (refused, never
"only 0" nor merged), socks to keep ("them"), a parcel that never came, and store credit already
issued (its code on the answer page, no promise that it is "on its way")."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import SECRET, ReturnsShop, order_event, with_stripe
from tests.fakes.stripe_api import FakeStripeServer
from webhooks import signatures

SOCKS = {"id": "l3", "sku": "SOCK", "name": "Wool socks", "quantity": 2, "unit_amount": 200}
MUG = {"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 1, "unit_amount": 2500}


@pytest.fixture
def socks_shop(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(sqlite_url, lambda: now, {"policy": "preset:standard-30-day"})
    s.seed(order_event("1001", lines=[MUG, SOCKS]))
    yield s
    s.close()


def _storefront_post(shop: ReturnsShop, rid: str, lines: list[dict[str, Any]]) -> Any:
    body = json.dumps({"id": f"evt_{rid}", "type": "return.requested", "created": 1764000100,
                       "data": {"return": {"id": rid, "order_id": "1001", "lines": lines}}})
    header = signatures.sign(SECRET, body.encode(), int(shop.clock().timestamp()))
    return shop.app.test_client().post(
        "/webhooks/storefront", data=body,
        headers={"Refunds-Signature": header, "Content-Type": "application/json"})


def _storefront_return(shop: ReturnsShop, rid: str, lines: list[dict[str, Any]]) -> str:
    resp = _storefront_post(shop, rid, lines)
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)
    return str(resp.get_json()["explanation"])


def test_two_socks_to_keep_are_them_and_a_parcel_that_never_came_has_nothing_to_keep(
    socks_shop: ReturnsShop,
) -> None:
    client = socks_shop.app.test_client()
    form = open_form(client)
    keep = submit(client, form, **{"line-1-id": "l3", "line-1-qty": "2",
                                   "line-1-reason": "changed_mind"})

    assert words(keep, "send-back") == [
        "You don't need to send back 2 × Wool socks; please keep them."]
    assert "You don't need to send back 2 × Wool socks; please keep them." in words(
        keep, "explanation")[0]  # the page and the paragraph say it the same way

    lost = submit(client, open_form(client), **{"line-0-qty": "1",
                                                "line-0-reason": "not_received"})

    assert words(lost, "send-back") == [
        "As your parcel never arrived, there is nothing to send back."]
    assert "keep" not in words(lost, "explanation")[0]


def test_a_line_named_twice_is_refused_and_a_returned_line_is_not_only_0(
    socks_shop: ReturnsShop,
) -> None:
    mug, sock = ({"line_id": lid, "quantity": 1, "reason": "damaged"} for lid in ("l1", "l3"))
    twice = _storefront_post(socks_shop, "r-1", [mug, sock, sock])
    both = _storefront_return(socks_shop, "r-2", [mug, {**sock, "quantity": 2}])
    again = _storefront_post(socks_shop, "r-3", [mug])

    assert (twice.status_code, twice.get_json()["error"]["message"]) == (
        400, "line l3: it is named more than once; name each line once")
    assert both == (
        "Your return of 1 × Blue enamel mug and 2 × Wool socks is approved. Dry run: we would "
        "refund 34.00 USD to your original payment; no money moves. This includes 5.00 USD for "
        "the original shipping. Please send back: Blue enamel mug. You don't need to send back "
        "2 × Wool socks; please keep them.")  # test mode: "we would", no promise of when
    assert (again.status_code, again.get_json()["error"]["message"]) == (
        400, "line l1: a return has already been requested for every unit of Blue enamel mug")


def test_credit_already_issued_shows_its_code_and_no_promise_of_when(
    sqlite_url: str, now: datetime, stripe_server: FakeStripeServer
) -> None:
    stripe_server.fake.add_payment_intent(9500, "usd", "pi_1001")
    shop = ReturnsShop(sqlite_url, lambda: now,
                       {"policy": "preset:credit-first", **with_stripe(stripe_server.url)})
    shop.seed(order_event("1001"))
    client = shop.app.test_client()
    form = open_form(client)
    picked = {"line-1-qty": "1", "line-1-reason": "too_large"}
    first = submit(client, form, **picked)
    assert "The money will be on its way within 24 hours." in words(first, "explanation")[0]
    shop.drain()

    answer = submit(client, form, **picked)  # a reload of the answer, once the credit is issued

    (promo,) = stripe_server.fake.promotion_codes.values()
    assert words(answer, "code") == [f"Your store credit code: {promo['code']}"]
    assert "on its way" not in text(answer)
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    status = client.get(link.group(1))
    assert "on its way" not in text(status)
    assert words(status, "code") == [f"Your store credit code: {promo['code']}"]
    assert json.loads(shop.rows(decisions)[0][16])["lines"]  # the request was recorded once
    assert len(shop.rows(decisions)) == 1
    shop.close()
