"""Before sending, the customer sees what they would get (the policy's own evaluation, with its
fees), and nothing is recorded until they confirm."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from werkzeug.test import TestResponse

from tests.fakes.returns_client import field, open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event


@pytest.fixture
def db_shop(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now, {"policy": "preset:standard-30-day"})
    s.seed(order_event("1001"))
    yield s
    s.close()


def _hidden(resp: TestResponse) -> dict[str, str]:
    html = resp.get_data(as_text=True)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_the_quote_shows_the_fees_and_the_refund_and_records_nothing(
    db_shop: ReturnsShop,
) -> None:
    client = db_shop.app.test_client()
    form = open_form(client)
    before = db_shop.snapshot()

    quote = submit(client, form, step="quote", **{"line-0-qty": "2",
                                                  "line-0-reason": "changed_mind"})

    assert quote.status_code == 200
    assert words(quote, "quote-lead") == [
        "If you send this request, it is approved straight away:"]
    assert words(quote, "amount") == ["Refund to your original payment: 44.05 USD"]
    assert words(quote, "fee") == ["Return shipping fee, taken off: 5.95 USD"]
    assert words(quote, "send-back") == ["Please send back: 2 × Blue enamel mug."]
    assert "Send my return request" in text(quote) and "Change my choices" in text(quote)
    assert db_shop.snapshot() == before  # a quote is not a request: nothing recorded

    posted = client.post("/returns/order", data={**_hidden(quote), "step": "send"})
    assert posted.status_code == 303  # post, redirect, get: the answer is a page of its own
    sent = client.get(posted.headers["Location"])

    assert words(sent, "outcome") == ["Your return is approved"]
    assert words(sent, "amount") == ["Refund to your original payment: 44.05 USD"]
    assert words(sent, "fee") == ["Return shipping fee, taken off: 5.95 USD"]
    counts = db_shop.counts()
    assert (counts["decisions"], counts["refund_attempts"]) == (1, 1)


def test_changing_my_choices_from_the_quote_shows_the_form_with_them_kept(
    db_shop: ReturnsShop,
) -> None:
    client = db_shop.app.test_client()
    form = open_form(client)
    quote = submit(client, form, step="quote", comment="Chipped rim",
                   **{"line-0-qty": "1", "line-0-reason": "damaged"})
    before = db_shop.snapshot()

    back = client.post("/returns/order", data={**_hidden(quote), "step": "edit"})

    assert back.status_code == 200
    html = back.get_data(as_text=True)
    assert '<option value="damaged" selected>It arrived damaged</option>' in html
    assert ">Chipped rim</textarea>" in html
    assert field(back, "form_token") == field(form, "form_token")
    assert db_shop.snapshot() == before


def test_a_quote_that_would_be_declined_offers_no_send_button(db_shop: ReturnsShop,
                                                              now: datetime) -> None:
    late = ReturnsShop(db_shop.db_url, lambda: now.replace(year=2027),
                       {"policy": "preset:standard-30-day"})
    client = late.app.test_client()
    before = late.snapshot()

    quote = submit(client, open_form(client), step="quote",
                   **{"line-1-qty": "1", "line-1-reason": "changed_mind"})

    assert words(quote, "quote-lead") == [
        "We can't accept this return as it is. Nothing has been sent yet."]
    assert "Send my return request" not in text(quote)
    assert late.snapshot() == before
    late.close()


def test_back_from_the_answer_is_the_answer_again_and_sending_the_quote_again_decides_nothing_new(
    db_shop: ReturnsShop,
) -> None:
    """Post, redirect, get for the quote too: the page before the answer in the browser's
    history is a GET, so the back button never asks to post a form again; once sent, that GET
    leads to the answer, never to a quote offering to send the same request again."""
    client = db_shop.app.test_client()
    form = open_form(client)
    data = {"csrf_token": field(form, "csrf_token"), "form_token": field(form, "form_token"),
            "line-0-id": "l1", "line-0-qty": "1", "line-0-reason": "changed_mind",
            "step": "quote"}

    asked = client.post("/returns/order", data=data)
    quote = client.get("/returns/quote")
    sent = client.post("/returns/order", data={**_hidden(quote), "step": "send"})
    back = client.get("/returns/quote")  # the back button from the answer
    again = client.post("/returns/order", data={**_hidden(quote), "step": "send"})

    assert (asked.status_code, asked.headers["Location"]) == (303, "/returns/quote")
    assert words(quote, "amount") == ["Refund to your original payment: 19.05 USD"]
    assert sent.status_code == back.status_code == again.status_code == 303
    assert sent.headers["Location"] == back.headers["Location"] == again.headers["Location"]
    assert sent.headers["Location"].startswith("/returns/answer/")
    counts = db_shop.counts()
    assert (counts["decisions"], counts["refund_attempts"]) == (1, 1)


def test_back_from_the_answer_of_every_unit_left_shows_the_answer_not_a_problem(
    db_shop: ReturnsShop,
) -> None:
    """Both mugs sent back: the quote worked out again would find nothing left to return and
    say "There is a problem" to a customer whose return went through; the answer is shown."""
    client = db_shop.app.test_client()
    form = open_form(client)
    client.post("/returns/order", data={
        "csrf_token": field(form, "csrf_token"), "form_token": field(form, "form_token"),
        "line-0-id": "l1", "line-0-qty": "2", "line-0-reason": "changed_mind",
        "step": "quote"})
    quote = client.get("/returns/quote")
    sent = client.post("/returns/order", data={**_hidden(quote), "step": "send"})

    back = client.get("/returns/quote", follow_redirects=True)

    assert back.status_code == 200
    assert back.request.path == sent.headers["Location"]
    assert "There is a problem" not in text(back)
    assert "Send my return request" not in text(back)
    assert words(back, "amount") == ["Refund to your original payment: 44.05 USD"]
    assert db_shop.counts()["decisions"] == 1


def test_the_quote_page_without_a_quote_asked_shows_the_form(db_shop: ReturnsShop) -> None:
    client = db_shop.app.test_client()
    open_form(client)

    resp = client.get("/returns/quote")

    assert (resp.status_code, resp.headers["Location"]) == (303, "/returns/order")
    assert db_shop.counts()["decisions"] == 0
