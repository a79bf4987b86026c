"""The items a customer reads are listed one way everywhere: the answer, the status page and
the policy's explanation all say "2 × Blue enamel mug and Linen shirt" (in German "… und …"),
never commas on one and "and" on the other. A line whose every unit is already in a return says
so ("a return has already been requested"), never that it "has been returned" before it is back.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import decisions, refund_attempts
from tests.fakes.returns_client import errors, open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event

DOCK = ReturnAddress("Our shop returns", "1 Dock Rd", "Austin", "78701", "US")
BOTH = {"line-0-qty": "2", "line-0-reason": "changed_mind",
        "line-1-qty": "1", "line-1-reason": "too_small"}


def _status(client: FlaskClient, answer: TestResponse) -> TestResponse:
    link = re.search(r'id="status-link" href="([^"]+)"', answer.get_data(as_text=True))
    assert link
    return client.get(link.group(1))


def test_the_answer_the_status_page_and_the_explanation_list_the_items_alike(
    shop: ReturnsShop,
) -> None:
    client = shop.app.test_client()

    answer = submit(client, open_form(client), **BOTH)
    status = _status(client, answer)

    said = "Please send back: 2 × Blue enamel mug and Linen shirt."
    assert words(answer, "send-back") == [said]
    assert words(status, "send-back") == [said]
    assert said in words(answer, "explanation")[0]
    assert said in words(status, "explanation")[0]
    assert "Blue enamel mug, Linen shirt" not in text(answer) + text(status)


def test_a_german_reader_gets_und_on_the_page_as_in_the_explanation(shop: ReturnsShop) -> None:
    client = shop.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"

    answer = submit(client, open_form(client), **BOTH)

    said = "Bitte zurücksenden: 2 × Blue enamel mug und Linen shirt."
    assert words(answer, "send-back") == [said]
    assert said in words(answer, "explanation")[0]
    assert words(_status(client, answer), "send-back") == [said]


def test_a_line_already_asked_for_says_a_return_was_requested_not_that_it_came_back(
    shop: ReturnsShop,
) -> None:
    client = shop.app.test_client()
    stale = open_form(client)  # a second tab, opened before the first request was sent
    submit(client, open_form(client), **{"line-0-qty": "2", "line-0-reason": "changed_mind"})
    before = shop.snapshot()

    form = open_form(client)
    again = submit(client, stale, **{"line-0-qty": "1", "line-0-reason": "changed_mind"})

    assert "A return has already been requested for this item." in text(form)
    assert "Already returned." not in text(form)
    assert again.status_code == 400
    assert errors(again) == ["A return has already been requested for Blue enamel mug."]
    assert "has already been returned" not in text(again)
    assert shop.snapshot() == before
    assert len(shop.rows(decisions)) == 1 and len(shop.rows(refund_attempts)) == 1


def test_once_the_parcel_is_received_the_status_page_no_longer_asks_for_it(
    sqlite_url: str, now: datetime,
) -> None:
    shop = ReturnsShop(sqlite_url, lambda: now, {"return_addresses": (DOCK,)})
    shop.seed(order_event("1001"))
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **BOTH)
    ref = re.search(r"Your reference: ([0-9a-f-]{36})", answer.get_data(as_text=True))
    assert ref
    assert words(_status(client, answer), "send-back") == [
        "Please send back: 2 × Blue enamel mug and Linen shirt."]

    shop.runtime.service.receive(ref.group(1), {"l1": ("as_new", None, False),
                                                "l2": ("as_new", None, False)}, "desk")
    status = _status(client, answer)

    assert words(status, "parcel") == ["Received and checked by our team."]
    assert words(status, "send-back") == []  # it is back: asking for it again would be untrue
    shop.close()


def test_without_a_return_address_the_customer_is_told_who_gives_one_never_left_with_none(
    sqlite_url: str, now: datetime,
) -> None:
    for addresses, told in (((), ["The shop will tell you where to send it."]), ((DOCK,), [])):
        shop = ReturnsShop(sqlite_url.replace(".db", f"-{len(addresses)}.db"), lambda: now,
                           {"return_addresses": addresses})
        shop.seed(order_event("1001"))
        client = shop.app.test_client()
        answer = submit(client, open_form(client), **BOTH)
        status = _status(client, answer)
        for page in (answer, status):
            assert words(page, "send-back") == [
                "Please send back: 2 × Blue enamel mug and Linen shirt."]
            assert words(page, "address-later") == told
            assert ("Send your parcel to:" in text(page)) == bool(addresses)
        shop.close()

    # a return with nothing to send back says nothing about where to send it
    shop = ReturnsShop(sqlite_url.replace(".db", "-kept.db"), lambda: now, {})
    shop.seed(order_event("1001"))
    client = shop.app.test_client()
    kept = submit(client, open_form(client), **{"line-0-qty": "1", "line-0-reason": "not_received"})
    assert words(kept, "address-later") == [] and "How to send it back" not in text(kept)
    shop.close()
