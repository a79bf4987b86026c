"""A finance person exports from the browser: the list pages link to their CSV with the page's
filters, and the GET exports under /api take the logged-in session as well as a bearer token
(read-only: a POST under /api still needs the bearer token)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

from tests.fakes.finance_scene import Scene, csrf

DECISIONS_HEADER = (
    "id,created_at,order_id,request_key,kind,outcome,resolution,currency,amount,refund_amount,"
    "credit_amount,amount_text,reason_code,review_reason,policy_name,policy_hash,customer_id,"
    "customer_email,money_status,explanation,review_status,review_decided_by,review_decided_at,"
    "credit_bonus,total_text,adjusted,exchange,amount_decimal,refund_amount_decimal,"
    "credit_amount_decimal,credit_bonus_decimal,granted_refund_amount,granted_credit_amount,"
    "granted_refund_amount_decimal,granted_credit_amount_decimal"
)


def _download_link(html: str) -> str:
    found = re.search(r'<a class="download" href="([^"]+)"[^>]*>Download CSV</a>', html)
    assert found, html
    return unescape(found.group(1))


def test_a_logged_in_finance_reader_downloads_the_decisions_csv_of_the_filtered_list(
    scene: Scene,
) -> None:
    reader = scene.login(scene.finance)
    page = reader.get("/finance/?customer=ann%40example.com&outcome=approve").get_data(
        as_text=True)
    link = _download_link(page)
    assert link == "/api/decisions?format=csv&outcome=approve&customer=ann@example.com"
    resp = reader.get(link)
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="decisions.csv"'
    text = resp.get_data(as_text=True)
    assert text.splitlines()[0] == DECISIONS_HEADER
    [row] = list(csv.DictReader(io.StringIO(text)))  # bob's review is filtered out
    assert (row["id"], row["order_id"], row["customer_email"], row["outcome"], row["amount"],
            row["amount_text"], row["money_status"], row["amount_decimal"]) == (
        scene.approved_id, "o-1", "ann@example.com", "approve", "2500", "25.00 EUR",
        "dry_run", "25.00")


def test_without_a_login_the_export_is_refused_and_the_bearer_token_still_works(
    scene: Scene,
) -> None:
    anonymous = scene.shop.app.test_client()
    refused = anonymous.get("/api/decisions?format=csv")
    assert refused.status_code == 401
    assert refused.headers["Cache-Control"] == "no-store"
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert "ann@example.com" not in refused.get_data(as_text=True)
    bearer = anonymous.get("/api/decisions?format=csv",
                           headers={"Authorization": f"Bearer {scene.finance}"})
    assert bearer.status_code == 200
    assert len(bearer.get_data(as_text=True).splitlines()) == 3  # header, ann, bob


def test_a_logged_out_session_cannot_export(scene: Scene) -> None:
    reader = scene.login(scene.finance)
    assert reader.get("/api/attempts?format=csv").status_code == 200
    reader.post("/finance/logout", data={"csrf_token": csrf(reader, "/finance/")})
    assert reader.get("/api/attempts?format=csv").status_code == 401


def test_admins_export_too_but_a_session_never_writes_through_the_api(scene: Scene) -> None:
    before = scene.snapshot()
    admin = scene.login(scene.admin)
    assert admin.get("/api/summary?format=csv&since=2026-11-01").status_code == 200
    # a POST under /api is not CSRF-checked, so the session must not count there
    posted = admin.post(f"/api/reviews/{scene.review_id}",
                        json={"action": "approve", "note": "cross-site"})
    assert posted.status_code == 401
    assert scene.snapshot() == before


def test_a_warehouse_session_cannot_export(scene: Scene) -> None:
    from refunds_plugin.finance.tokens import create_token

    token = create_token(scene.shop.runtime.engine, "Wes", "warehouse", scene.shop.now).secret
    packer = scene.shop.app.test_client()
    packer.post("/finance/login", data={"token": token,
                                        "csrf_token": csrf(packer, "/finance/login")})
    assert packer.get("/api/decisions?format=csv").status_code == 403


def test_the_follow_ups_outbox_and_summary_pages_link_their_csv_with_their_filters(
    scene: Scene,
) -> None:
    reader = scene.login(scene.finance)
    follow = _download_link(reader.get("/finance/follow-ups?status=all&due=1").get_data(
        as_text=True))
    assert follow == "/api/follow-ups?format=csv&status=all&due=true&page=1"
    assert reader.get(follow).status_code == 200
    out = _download_link(reader.get("/finance/outbox/?status=sent").get_data(as_text=True))
    assert out == "/api/outbox?format=csv&status=sent&page=1"
    assert reader.get(out).status_code == 200
    summ = _download_link(reader.get("/finance/summary?since=2026-11-01&until=2026-12-01")
                          .get_data(as_text=True))
    assert summ == "/api/summary?format=csv&since=2026-11-01&until=2026-12-01"
    got = reader.get(summ)
    assert got.status_code == 200
    assert got.get_data(as_text=True).splitlines()[0].startswith(
        "day,currency,decisions,sales,refunded,credited,kept,")


def test_each_insight_page_links_its_csv_with_its_period_and_options(scene: Scene) -> None:
    reader = scene.login(scene.finance)
    reasons = _download_link(reader.get(
        "/finance/insights/reasons?since=2026-11-01&until=2026-12-01&by=product&q=").get_data(
        as_text=True))
    assert reasons == ("/api/insights/reasons?format=csv&since=2026-11-01&until=2026-12-01"
                       "&by=product")
    got = reader.get(reasons)
    assert (got.status_code, got.mimetype) == (200, "text/csv")
    assert got.headers["Content-Disposition"] == 'attachment; filename="insights-reasons.csv"'
    for name in ("costs", "retention", "feedback"):
        link = _download_link(reader.get(f"/finance/insights/{name}?since=2026-11-01")
                              .get_data(as_text=True))
        assert link == f"/api/insights/{name}?format=csv&since=2026-11-01"
        assert reader.get(link).status_code == 200, name


def test_another_site_cannot_read_an_export_through_the_session(scene: Scene) -> None:
    """The session cookie is SameSite=Lax and HttpOnly (a cross-site fetch or frame does not
    carry it), and no export allows another origin to read it."""
    client = scene.shop.app.test_client()
    login = client.post("/finance/login", data={"token": scene.finance,
                                                "csrf_token": csrf(client, "/finance/login")})
    cookie = login.headers["Set-Cookie"]
    assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie
    got = client.get("/api/decisions?format=csv", headers={"Origin": "https://evil.example"})
    assert got.status_code == 200  # a top-level link from elsewhere: a download to the person
    assert "Access-Control-Allow-Origin" not in got.headers
    assert "Access-Control-Allow-Credentials" not in got.headers
