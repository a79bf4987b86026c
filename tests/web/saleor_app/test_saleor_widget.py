"""The order widget as Saleor's Dashboard posts to it: a signed extension token (RS256, the
shop's key from the fake Saleor's JWKS), the order's decisions, and a review decided in the
Dashboard that is journalled under the staff user and pays once. A refused token records
nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from refunds_plugin.ledger.tables import ledger_entries, refund_attempts, reviews
from refunds_plugin.saleor import widget
from tests.fakes import Clock
from tests.fakes.saleor_api import API_URL, APP_ID, FakeSaleor, rsa_key
from tests.fakes.saleor_harness import SaleorHarness
from tests.fakes.saleor_tokens import STAFF_EMAIL, STAFF_ID, claims, issue, tamper

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
BASE = "https://refunds.example.com"
WHO = f"{STAFF_EMAIL} (Saleor staff {STAFF_ID} @ shop.example.com)"


@pytest.fixture
def reviewed(shop: SaleorHarness) -> Iterator[tuple[SaleorHarness, str]]:
    """An installed app with one Saleor order whose return went to review (exceeds_refundable:
    staff refunded 25.00 of 30.00 in the Dashboard before the return came in)."""
    assert shop.install().status_code == 200
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    shop.saleor.refund_outside(ORDER, "25.00")
    body = shop.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "review", "exceeds_refundable", 500)
    yield shop, body["decision_id"]


def _token(clock: Clock, **kw: object) -> str:
    return issue(claims(clock.now, **kw), rsa_key("one"), "kid-1")  # type: ignore[arg-type]


def _post(shop: SaleorHarness, token: str, path: str = "/saleor/widget/order", **form: str):
    data = {"saleorApiUrl": API_URL, "accessToken": token, "appId": APP_ID, "orderId": ORDER,
            **form}
    return shop.client.post(path, data=data, base_url=BASE)


def _form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _ledger(shop: SaleorHarness) -> tuple[int, list[str], int]:
    with shop.engine.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
        states = [r.status for r in conn.execute(select(reviews))]
        attempts = conn.execute(select(func.count()).select_from(refund_attempts)).scalar_one()
    return int(entries), states, int(attempts)


def test_the_widget_shows_the_decision_its_money_and_the_review_form(reviewed, clock):
    shop, decision_id = reviewed
    resp = _post(shop, _token(clock))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Returns and refunds · order #1001" in html
    assert f'data-decision="{decision_id}"' in html
    assert '<span class="badge review">review</span>' in html
    assert ('<span class="money-status" data-status="none">No money has moved</span>') in html
    assert "Refund: 5.00 USD" in html
    assert 'value="approve">Approve</button>' in html and 'value="decline">Decline' in html
    assert f"{BASE}/finance/decisions/{decision_id}" in html
    assert f"Signed in through Saleor as {STAFF_EMAIL}." in html
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example.com;" in csp and "form-action 'self'" in csp
    assert "X-Frame-Options" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"


def test_an_approval_in_the_dashboard_is_journalled_under_the_staff_user_and_pays_once(
    reviewed, clock
):
    shop, decision_id = reviewed
    token = _token(clock)
    form = {"decision_id": decision_id, "action": "approve", "note": "refunded by phone too",
            "form_token": _form_token(_post(shop, token).get_data(as_text=True))}
    resp = _post(shop, token, "/saleor/widget/review", **form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html
    assert '<p class="notice done" role="status">Approved.</p>' in html
    assert f"Review approved by {WHO}: “refunded by phone too”" in html
    with shop.engine.connect() as conn:
        [review] = conn.execute(select(reviews)).all()
        [entry] = conn.execute(select(ledger_entries).where(
            ledger_entries.c.entry_type == "review_decided")).all()
    assert (review.status, review.decided_by, review.note) == (
        "approved", WHO, "refunded by phone too")
    body = json.loads(entry.body)
    assert (body["status"], body["decided_by"], len(body["attempt_ids"])) == ("approved", WHO, 1)

    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.kind, attempt.amount, attempt.status) == ("refund", 500, "sent")
    grants = shop.saleor.mutations("RefundsGrantRefund")
    assert [g[1]["input"]["amount"] for g in grants] == ["5.00"]

    again = _post(shop, token, "/saleor/widget/review", **form)
    assert again.status_code == 409
    assert "already approved" in again.get_data(as_text=True)
    shop.executor.drain()
    assert len(shop.attempts()) == 1 and len(shop.saleor.mutations("RefundsGrantRefund")) == 1


def test_money_stripe_paid_in_its_test_mode_reads_as_no_real_money_moved(reviewed, clock):
    shop, decision_id = reviewed
    token = _token(clock)
    form = {"decision_id": decision_id, "action": "approve", "note": "ok",
            "form_token": _form_token(_post(shop, token).get_data(as_text=True))}
    assert _post(shop, token, "/saleor/widget/review", **form).status_code == 200
    with shop.engine.begin() as conn:  # as a refund made with a Stripe test key leaves it
        conn.execute(refund_attempts.update().values(status="succeeded", livemode=False))

    html = _post(shop, token).get_data(as_text=True)

    assert ('<span class="money-status" data-status="test_mode">Stripe test mode: no real '
            "money moved</span>") in html
    assert "Paid out" not in html


def test_a_staff_user_without_manage_orders_sees_the_review_but_cannot_decide_it(reviewed, clock):
    shop, decision_id = reviewed
    token = _token(clock, user_permissions=("MANAGE_PRODUCTS",))
    html = _post(shop, token).get_data(as_text=True)
    assert "Waiting for a review: " in html and 'name="form_token"' not in html
    assert "Someone with the MANAGE_ORDERS permission can approve or decline it here." in html
    before = _ledger(shop)
    staff = widget.StaffToken(API_URL, APP_ID, STAFF_ID, STAFF_EMAIL, frozenset(),
                              clock.now + timedelta(minutes=5))
    minted = widget.form_token(shop.app.config["SECRET_KEY"], staff, ORDER, decision_id)
    resp = _post(shop, token, "/saleor/widget/review", decision_id=decision_id,
                 action="approve", note="ok", form_token=minted)
    assert resp.status_code == 403
    assert "deciding a review needs MANAGE_ORDERS in Saleor" in resp.get_data(as_text=True)
    assert _ledger(shop) == before == (before[0], ["open"], 0)


@pytest.mark.parametrize(("case", "code"), [
    ("expired", "expired_token"), ("tampered", "invalid_signature"), ("other app", "wrong_app"),
    ("other saleor", "unknown_saleor"), ("other issuer", "wrong_saleor"),
    ("other audience", "wrong_audience"), ("posted app id", "wrong_app"),
])
def test_a_token_that_cannot_be_trusted_shows_nothing_and_decides_nothing(
    reviewed, clock, case, code, caplog
):
    shop, decision_id = reviewed
    good = _token(clock)
    form_token = _form_token(_post(shop, good).get_data(as_text=True))
    tokens = {
        "expired": _token(clock, ttl_s=-1),
        "tampered": tamper(_token(clock, app="QXBwOjk5"), app=APP_ID),
        "other app": _token(clock, app="QXBwOjk5"),
        "other issuer": _token(clock, iss="https://other.example.com/graphql/"),
        "other audience": _token(clock, aud="https://elsewhere.example.com"),
    }
    extra = {"other saleor": {"saleorApiUrl": "https://other.example.com/graphql/"},
             "posted app id": {"appId": "QXBwOjk5"}}.get(case, {})
    token = tokens.get(case, good)
    before = _ledger(shop)
    for path in ("/saleor/widget/order", "/saleor/widget/review"):
        resp = _post(shop, token, path, **{"decision_id": decision_id, "action": "approve",
                                            "note": "ok", "form_token": form_token, **extra})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 401, html
        assert 'data-code="401"' in html and decision_id not in html
    assert _ledger(shop) == before
    assert f"({code})" in caplog.text


def test_a_form_for_one_review_cannot_decide_another_and_a_note_is_required(reviewed, clock):
    shop, decision_id = reviewed
    token = _token(clock)
    form_token = _form_token(_post(shop, token).get_data(as_text=True))
    before = _ledger(shop)
    other = _post(shop, token, "/saleor/widget/review", decision_id="another-decision",
                  action="approve", note="ok", form_token=form_token)
    assert other.status_code == 400
    assert "this form was made for another person or review" in other.get_data(as_text=True)
    moved = _post(shop, token, "/saleor/widget/review", decision_id=decision_id,
                  action="approve", note="ok", form_token=form_token, orderId="T3JkZXI6Mg==")
    assert moved.status_code == 400
    empty = _post(shop, token, "/saleor/widget/review", decision_id=decision_id,
                  action="approve", note="  ", form_token=form_token)
    assert empty.status_code == 400
    assert "a note saying why is required" in empty.get_data(as_text=True)
    assert _ledger(shop) == before


def test_an_order_the_ledger_does_not_hold_for_this_saleor_shows_no_decisions(reviewed, clock):
    shop, decision_id = reviewed
    resp = _post(shop, _token(clock), orderId="T3JkZXI6OTk=")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "This order has no return requests in the refunds ledger." in html
    assert decision_id not in html


def test_the_manifest_route_reads_the_version_saleor_sends(shop):
    def extensions(**headers: str) -> list[dict[str, object]]:
        data = shop.client.get("/saleor/manifest", base_url=BASE, headers=headers).get_json()
        return list(data["extensions"])

    [ext] = extensions(**{"Saleor-Schema-Version": "3.23"})
    assert (ext["mount"], ext["target"], ext["url"]) == (
        "ORDER_DETAILS_WIDGETS", "WIDGET", f"{BASE}/saleor/widget/order")
    assert extensions(**{"Saleor-Schema-Version": "3.20"}) == []
    assert extensions() == []


def test_the_widget_is_framed_only_by_the_configured_dashboards(
    sqlite_url, clock, saleor: FakeSaleor
):
    h = SaleorHarness(sqlite_url, clock, saleor,
                      saleor_dashboard_urls=("https://dashboard.example.net/dashboard/",))
    try:
        resp = h.client.post("/saleor/widget/order", data={}, base_url=BASE)
        assert resp.status_code == 401
        assert ("frame-ancestors https://dashboard.example.net https://shop.example.com;"
                in resp.headers["Content-Security-Policy"])
    finally:
        h.close()


def test_a_declined_return_reads_as_nothing_given_and_its_time_says_utc(reviewed, clock):
    """Staff in any time zone read the decision's time as UTC, and a return a person declined
    gives nothing: its amount is 0 with what the policy had said, as the finance lists say it,
    never "Refund: 5.00 USD" beside the decline."""
    shop, decision_id = reviewed
    token = _token(clock)
    form = {"decision_id": decision_id, "action": "decline", "note": "refunded by phone",
            "form_token": _form_token(_post(shop, token).get_data(as_text=True))}
    assert _post(shop, token, "/saleor/widget/review", **form).status_code == 200

    html = _post(shop, token).get_data(as_text=True)

    assert f"<h2>Return · {clock.now:%Y-%m-%d %H:%M} UTC</h2>" in html
    assert ("<p class=\"money\">Refund: 0.00 USD (declined; the policy said 5.00 USD) — "
            '<span class="money-status" data-status="none">No money has moved</span></p>') in html
    assert "Refund: 5.00 USD —" not in html
