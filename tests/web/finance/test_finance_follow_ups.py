"""Failed payments to follow up, on the finance pages and in the API, from signed Stripe events.

The scene: order 8001 failed and was paid an hour later (cleared), 8002 failed and was never
paid (due), 8003 failed half an hour ago (still inside the default policy's 24-hour wait).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import follow_ups
from tests.fakes import Clock, Harness, stripe_event
from tests.fakes.finance_scene import csrf
from tests.fakes.stripe_shapes import T0, failed_intent, pay

DETAIL = "card_declined (insufficient_funds): Your card has insufficient funds."


@dataclass
class Failed:
    h: Harness
    t0: datetime
    finance: str
    admin: str

    def at(self, hours: float) -> str:
        return (self.t0 + timedelta(hours=hours)).isoformat()

    def login(self, token: str) -> FlaskClient:
        client = self.h.client()
        resp = client.post("/finance/login", data={"token": token,
                                                   "csrf_token": csrf(client, "/finance/login")})
        assert resp.status_code == 303, resp.get_data(as_text=True)
        return client

    def api(self, query: str = "", token: str | None = None) -> Any:
        resp = self.h.client().get(f"/api/follow-ups{query}",
                                   headers={"Authorization": f"Bearer {token or self.finance}"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp


def fail(h: Harness, pi_id: str, amount: int, order_id: str) -> None:
    resp = h.post_stripe(stripe_event(f"evt_{pi_id}", "payment_intent.payment_failed",
                                      failed_intent(pi_id, amount, order_id=order_id)))
    assert resp.status_code == 200, resp.get_data(as_text=True)


@pytest.fixture
def failed(any_db_url: str, clock: Clock) -> Iterator[Failed]:
    h = Harness(any_db_url, clock, settings={"secret_key": "test-secret-key"})
    t0 = clock.now
    fail(h, "pi_f1", 4200, "8001")
    clock.advance(3600)
    fail(h, "pi_f2", 1999, "8002")
    clock.advance(3600)
    pay(h, None, "pi_ok", 4200, created=T0, order_id="8001")
    clock.advance(24 * 3600)
    fail(h, "pi_f3", 5000, "8003")
    clock.advance(1800)
    engine = h.runtime.engine
    yield Failed(h, t0, finance=create_token(engine, "Fin", "finance", clock.now).secret,
                 admin=create_token(engine, "Ada", "admin", clock.now).secret)
    h.close()


def cells(html: str) -> list[list[str]]:
    rows = re.findall(r'<tr class="follow-up">(.*?)</tr>', html, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                    flags=re.S)]
            for r in rows]


def test_the_api_lists_open_follow_ups_oldest_first_with_contact_amount_and_what_failed(
    failed: Failed,
) -> None:
    body = failed.api().get_json()

    assert (body["page"], body["per_page"], body["has_next"]) == (1, 50, False)
    assert body["data"] == [
        {"kind": "failed_payment", "order_id": "8002", "decision_id": None,
         "customer": "bo@example.com", "amount": 1999, "currency": "USD",
         "amount_text": "19.99 USD", "what_failed": DETAIL, "payment_reference": "pi_f2",
         "status": "open", "opened_at": failed.at(1), "due_at": failed.at(25),
         "cleared_at": None, "age_seconds": 91800},
        {"kind": "failed_payment", "order_id": "8003", "decision_id": None,
         "customer": "bo@example.com", "amount": 5000, "currency": "USD",
         "amount_text": "50.00 USD", "what_failed": DETAIL, "payment_reference": "pi_f3",
         "status": "open", "opened_at": failed.at(26), "due_at": failed.at(50),
         "cleared_at": None, "age_seconds": 1800},
    ]


def test_the_api_filters_due_cleared_and_all_and_pages(failed: Failed) -> None:
    def orders(query: str) -> list[tuple[str, str]]:
        return [(d["order_id"], d["status"]) for d in failed.api(query).get_json()["data"]]

    assert orders("?due=true") == [("8002", "open")]
    assert failed.api("?due=1", token=failed.admin).get_json()["data"][0]["order_id"] == "8002"
    assert orders("?status=cleared") == [("8001", "cleared")]
    assert orders("?status=all") == [("8001", "cleared"), ("8002", "open"), ("8003", "open")]
    cleared = failed.api("?status=cleared").get_json()["data"][0]
    assert (cleared["amount"], cleared["cleared_at"]) == (4200, failed.at(2))
    first = failed.api("?per_page=1").get_json()
    second = failed.api("?per_page=1&page=2").get_json()
    assert [d["order_id"] for d in first["data"] + second["data"]] == ["8002", "8003"]
    assert (first["has_next"], second["has_next"]) == (True, False)


@pytest.mark.parametrize(("query", "message"), [
    ("status=paid", "status: expected one of open, cleared, all, found 'paid'"),
    ("due=maybe", "due: expected true or false, found 'maybe'"),
])
def test_a_filter_that_cannot_be_read_is_refused_naming_it(
    failed: Failed, query: str, message: str,
) -> None:
    resp = failed.h.client().get(f"/api/follow-ups?{query}",
                                 headers={"Authorization": f"Bearer {failed.finance}"})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {"code": "invalid_parameter", "message": message}


def test_an_unknown_status_is_refused_on_the_page_too(failed: Failed) -> None:
    page = failed.login(failed.finance).get("/finance/follow-ups?status=paid")
    assert page.status_code == 400


def test_the_api_gives_csv_with_exact_amounts(failed: Failed) -> None:
    resp = failed.api("?status=all&format=csv")

    assert resp.mimetype == "text/csv"
    assert resp.headers["X-Has-Next"] == "false"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["order_id"], r["customer"], r["amount"], r["currency"], r["amount_text"],
             r["status"], r["payment_reference"], r["what_failed"]) for r in rows] == [
        ("8001", "bo@example.com", "4200", "USD", "42.00 USD", "cleared", "pi_f1", DETAIL),
        ("8002", "bo@example.com", "1999", "USD", "19.99 USD", "open", "pi_f2", DETAIL),
        ("8003", "bo@example.com", "5000", "USD", "50.00 USD", "open", "pi_f3", DETAIL),
    ]
    # the amount also in major units, a number a spreadsheet sums, after the other columns
    assert list(rows[0])[-1] == "amount_decimal"
    assert [r["amount_decimal"] for r in rows] == ["42.00", "19.99", "50.00"]


def test_the_page_lists_open_follow_ups_with_their_age_and_is_linked_from_the_navigation(
    failed: Failed,
) -> None:
    client = failed.login(failed.finance)
    assert 'href="/finance/follow-ups"' in client.get("/finance/").get_data(as_text=True)

    html = client.get("/finance/follow-ups").get_data(as_text=True)

    assert cells(html) == [
        ["2026-11-24 13:00 UTC", "1 d 1 h", "8002", "bo@example.com", "19.99 USD", DETAIL,
         "pi_f2", "due", "failed payment"],
        ["2026-11-25 14:00 UTC", "30 min", "8003", "bo@example.com", "50.00 USD", DETAIL,
         "pi_f3", "waiting until 2026-11-26 14:00 UTC", "failed payment"],
    ]
    assert "<script" not in html
    due = cells(client.get("/finance/follow-ups?due=1").get_data(as_text=True))
    assert [row[2] for row in due] == ["8002"]


def test_the_page_shows_cleared_follow_ups_when_asked(failed: Failed) -> None:
    client = failed.login(failed.admin)

    html = client.get("/finance/follow-ups?status=cleared").get_data(as_text=True)

    assert cells(html) == [["2026-11-24 12:00 UTC", "1 d 2 h", "8001", "bo@example.com",
                            "42.00 USD", DETAIL, "pi_f1", "cleared 2026-11-24 14:00 UTC",
                            "failed payment"]]


def test_without_a_token_neither_the_page_nor_the_api_shows_a_follow_up(failed: Failed) -> None:
    before = failed.h.rows(follow_ups)
    client = failed.h.client()
    for path, headers in (("/finance/follow-ups", {}), ("/api/follow-ups", {}),
                          ("/api/follow-ups", {"Authorization": "Bearer rfd_wrong"}),
                          ("/finance/follow-ups", {"Authorization": "Bearer rfd_wrong"})):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 401, path
        assert "bo@example.com" not in resp.get_data(as_text=True)
    assert failed.h.rows(follow_ups) == before
