"""Reviewing with the customer's words in view, and changing the outcome on approval: another
amount, the fees waived, store credit instead. Each change is journalled in the review's own
entry and stays within what the order can still give back; a refusal records nothing and leads
back to the form; the confirmation names the order."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import verify_ledger
from tests.fakes.finance_scene import csrf
from tests.fakes.shop import Shop

COMMENT = "The colour is not what the photo showed."


@dataclass
class Review:
    shop: Shop
    admin: FlaskClient
    decision_id: str

    def rows(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self.shop.runtime.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        return {t: self.rows(f"SELECT * FROM {t} ORDER BY 1") for t in
                ("ledger_entries", "reviews", "refund_attempts", "decisions")}

    def decide(self, **form: str) -> tuple[int, str, str]:
        data = {"note": "checked the photos", "csrf_token": csrf(self.admin, "/finance/reviews"),
                **form}
        resp = self.admin.post(f"/finance/reviews/{self.decision_id}", data=data)
        return resp.status_code, resp.headers.get("Location", ""), resp.get_data(as_text=True)


@pytest.fixture
def review(any_db_url: str, now: datetime) -> Iterator[Review]:
    # standard-30-day: "other" goes to a person, and a change of mind pays return shipping
    shop = Shop(any_db_url, now, policy="preset:standard-30-day")
    shop.order("o-7", 10000, "cy@example.com")
    answer = shop.send("return.requested", {"return": {
        "id": "r-7", "order_id": "o-7", "comment": COMMENT,
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "other"}],
        "requested_at": (now - timedelta(hours=1)).isoformat(),
    }})
    assert answer["outcome"] == "review"
    secret = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
    client = shop.app.test_client()
    resp = client.post("/finance/login", data={"token": secret,
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 303
    yield Review(shop, client, answer["decision_id"])
    shop.runtime.engine.dispose()


def test_the_queue_shows_the_customers_comment_the_fees_and_amounts_in_euros(
    review: Review,
) -> None:
    html = review.admin.get("/finance/reviews").get_data(as_text=True)
    assert "<strong>The customer wrote:</strong> “" + COMMENT + "”" in html
    assert "Order o-7</a> · 94.05 EUR</h2>" in html
    assert "Waive the fees (5.95 EUR)" in html
    assert "opened 2026-11-24 12:00 UTC" in html
    page = review.admin.get(f"/finance/decisions/{review.decision_id}").get_data(as_text=True)
    assert "<dd class=\"comment\">“" + COMMENT + "”</dd>" in page


def test_waiving_the_fee_pays_the_full_amount_and_journals_the_change(review: Review) -> None:
    status, location, _ = review.decide(action="approve", waive_fees="1")
    assert status == 303
    page = review.admin.get(location).get_data(as_text=True)
    assert ('<p class="notice" role="status">Approved the review of order o-7: refund of '
            "100.00 EUR.</p>") in page
    assert review.decision_id not in page  # the confirmation names the order, not a UUID
    assert review.rows("SELECT kind, amount, bonus FROM refund_attempts") == [
        ("refund", 10000, 0)]
    [(body,)] = review.rows("SELECT body FROM ledger_entries WHERE entry_type = 'review_decided'")
    assert json.loads(str(body))["adjusted"] == {
        "amount": 10000, "bonus": 0, "resolution": "refund", "fees_waived": ["return_shipping"],
        "was": {"amount": 9405, "resolution": "refund"}}
    # the decision keeps what the policy said; the journal holds
    assert review.rows("SELECT outcome, amount FROM decisions") == [("review", 9405)]
    assert verify_ledger(review.shop.runtime.engine) == []
    detail = review.admin.get(f"/finance/decisions/{review.decision_id}").get_data(as_text=True)
    assert ("Changed on approval: refund of 100.00 EUR, fees waived (return_shipping); the "
            "policy had said refund of 94.05 EUR.") in detail
    assert "approved by Ada Admin (token #1) at 2026-11-24 12:00 UTC" in detail


def test_an_admin_gives_a_lower_amount_as_store_credit(review: Review) -> None:
    status, _, _ = review.decide(action="approve", amount="50.00", to_credit="1")
    assert status == 303
    assert review.rows("SELECT kind, amount, bonus FROM refund_attempts") == [("credit", 5000, 0)]
    assert verify_ledger(review.shop.runtime.engine) == []
    review.shop.pay_out()
    # what was finally decided, not the policy's 94.05 EUR refund, on the page and in the API
    page = review.admin.get("/finance/?resolution=credit").get_data(as_text=True)
    assert "50.00 EUR" in page and "94.05" not in page
    secret = create_token(review.shop.runtime.engine, "Fin", "finance", review.shop.now).secret
    [row] = review.admin.get("/api/decisions", headers={"Authorization": f"Bearer {secret}"}
                             ).get_json()["data"]
    assert (row["resolution"], row["amount"], row["refund_amount"], row["credit_amount"],
            row["amount_text"], row["adjusted"], row["money_status"]) == (
        "credit", 5000, 0, 5000, "50.00 EUR", "the policy said refund 94.05 EUR", "dry_run")


def test_a_link_cannot_put_words_in_the_banner_and_the_real_one_comes_from_the_server(
    review: Review,
) -> None:
    spoof = "Approved the review of order 9999: refund of 5000.00 USD. Call 555-0100"
    for path in ("/finance/reviews", f"/finance/decisions/{review.decision_id}",
                 "/finance/follow-ups", "/finance/outbox/"):
        html = review.admin.get(path, query_string={"done": spoof}).get_data(as_text=True)
        assert "555-0100" not in html and 'role="status"' not in html, path
    status, location, _ = review.decide(action="approve")
    assert (status, location) == (303, "/finance/reviews")  # nothing said in the address
    page = review.admin.get(location, query_string={"done": spoof}).get_data(as_text=True)
    [said] = re.findall(r'<p class="notice" role="status">(.*?)</p>', page)
    assert said == "Approved the review of order o-7."
    # said once: a reload (or the link again) shows no banner
    again = review.admin.get(location).get_data(as_text=True)
    assert 'role="status"' not in again


def test_a_us_grouped_amount_is_read_and_jpy_and_kwd_hints_use_their_own_decimals(
    any_db_url: str, now: datetime,
) -> None:
    shop = Shop(any_db_url, now, policy="preset:standard-30-day")
    for order, amount, currency in (("o-j", 150000, "JPY"), ("o-k", 200000, "KWD"),
                                    ("o-u", 300000, "USD")):
        shop.order(order, amount, "cy@example.com", currency=currency)
    admin = Review(shop, shop.app.test_client(), "")
    secret = create_token(shop.runtime.engine, "Ada Admin", "admin", now).secret
    admin.admin.post("/finance/login", data={"token": secret,
                                             "csrf_token": csrf(admin.admin, "/finance/login")})
    ids, order_currency = {}, {"o-j": "JPY", "o-k": "KWD", "o-u": "USD"}
    for order in ("o-j", "o-k", "o-u"):
        answer = shop.send("return.requested", {"return": {
            "id": f"r-{order}", "order_id": order,
            "lines": [{"line_id": "l1", "quantity": 1, "reason": "other"}],
            "requested_at": (now - timedelta(hours=1)).isoformat()}})
        assert answer["outcome"] == "review"
        ids[order] = answer["decision_id"]
    for order, typed, hint in (
        ("o-j", "12.50", "write it like 12 or 1,200: no decimals in JPY"),
        ("o-k", "12,500", None),  # a group of three: twelve thousand five hundred, too much
        ("o-k", "1.2345", "write it like 12.500 or 1,200.500: a point before at most 3 decimals"),
        ("o-u", "1000,50", "write it like 12.50 or 1,200.50: a point before at most 2 decimals"),
    ):
        admin.decision_id = ids[order]
        before = admin.snapshot()
        status, _, html = admin.decide(action="approve", amount=typed)
        assert status == 400 and admin.snapshot() == before
        if hint:
            assert (f"“{typed}” is not an amount in {order_currency[order]} ({hint}, commas "
                    "only between groups of three digits, no other separators).") in html
    admin.decision_id = ids["o-u"]
    status, _, _ = admin.decide(action="approve", amount="1,000.00")
    assert status == 303
    assert admin.rows("SELECT kind, amount, currency FROM refund_attempts") == [
        ("refund", 100000, "USD")]
    shop.runtime.engine.dispose()


@pytest.mark.parametrize(("form", "message"), [
    ({"action": "approve", "amount": "100.01"},
     "Nothing was recorded: 100.01 EUR is more than the 100.00 EUR this order still has to "
     "give back."),
    ({"action": "approve", "amount": "abc"},
     "Nothing was recorded: “abc” is not an amount in EUR (write it like 12.50 or 1,200.50: a "
     "point before at most 2 decimals, commas only between groups of three digits, no other "
     "separators)."),
    ({"action": "approve", "amount": "90,50"},  # a decimal comma is not guessed at
     "Nothing was recorded: “90,50” is not an amount in EUR (write it like 12.50 or 1,200.50: a "
     "point before at most 2 decimals, commas only between groups of three digits, no other "
     "separators)."),
    ({"action": "approve", "amount": "0"},
     "Nothing was recorded: the amount must be more than 0.00 EUR; to give nothing, decline "
     "instead."),
    ({"action": "decline", "to_credit": "1"},
     "Nothing was recorded: an amount, fee or credit change goes with an approval, not a "
     "decline."),
])
def test_a_refused_change_records_nothing_and_leads_back_to_the_form(
    review: Review, form: dict[str, str], message: str,
) -> None:
    before = review.snapshot()
    status, _, html = review.decide(**form)
    assert status == 400
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', html)
    assert found is not None and found.group(1).replace("&#34;", '"') == message
    # the review's form again, beside the error, with what was typed kept
    assert html.count('role="alert"') == 1
    page = html.split(f'id="review-{review.decision_id}"', 1)[1]
    assert 'name="note" required value="checked the photos"' in page
    assert (f'name="amount" inputmode="decimal" placeholder="94.05" '
            f'value="{form.get("amount", "")}"') in page
    assert review.snapshot() == before
    # the form is still there to try again
    assert f'id="review-{review.decision_id}"' in review.admin.get("/finance/reviews").get_data(
        as_text=True)


def test_a_refused_amount_keeps_both_notes_and_the_ticked_boxes_beside_the_error(
    review: Review,
) -> None:
    before = review.snapshot()
    status, location, html = review.decide(
        action="approve", amount="abc", note="photos show a scuff",
        customer_note="Sorry about the colour", waive_fees="1", to_credit="1")
    assert (status, location) == (400, "")
    assert review.snapshot() == before
    section = html.split(f'id="review-{review.decision_id}"', 1)[1]
    error_id = f"review-{review.decision_id}-error"
    assert 'name="note" required value="photos show a scuff">' in section
    assert 'name="customer_note" value="Sorry about the colour">' in section
    assert (f'value="abc" autofocus aria-invalid="true" aria-describedby="{error_id}"></label>'
            f'\n      <div id="{error_id}"><p class="error" role="alert">Nothing was recorded: '
            "“abc” is not an amount in EUR") in section
    assert 'name="waive_fees" value="1" checked>' in section
    assert 'name="to_credit" value="1" checked>' in section
    # approving with the amount corrected goes through
    status, location, _ = review.decide(action="approve", amount="90.00",
                                        note="photos show a scuff")
    assert (status, location) == (303, "/finance/reviews")
