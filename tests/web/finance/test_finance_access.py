"""Access: without a valid token, session, role and CSRF token nothing is shown or changed."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.finance.tokens import check_token, create_token, hash_token
from tests.fakes.finance_scene import Scene, csrf


def test_pages_and_api_refuse_a_request_without_a_token(scene: Scene) -> None:
    client = scene.shop.app.test_client()
    for path in ("/finance/", f"/finance/decisions/{scene.review_id}", "/finance/reviews",
                 "/finance/summary", "/finance/follow-ups"):
        assert client.get(path).status_code == 401, path
    for path in ("/api/decisions", "/api/attempts", "/api/summary", "/api/follow-ups"):
        resp = client.get(path)
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "unauthorized"


def test_approving_without_a_session_is_refused_and_nothing_changes(scene: Scene) -> None:
    before = scene.snapshot()
    client = scene.shop.app.test_client()
    token = csrf(client, "/finance/login")  # a CSRF token alone is not a login
    resp = client.post(f"/finance/reviews/{scene.review_id}",
                       data={"action": "approve", "note": "ok", "csrf_token": token})
    assert resp.status_code == 401
    resp = client.post(f"/api/reviews/{scene.review_id}", json={"action": "approve", "note": "x"})
    assert resp.status_code == 401
    assert scene.snapshot() == before


def test_a_wrong_token_neither_logs_in_nor_reads_the_api(scene: Scene) -> None:
    client = scene.shop.app.test_client()
    resp = client.post("/finance/login", data={"token": "rfd_not-a-real-token",
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 401
    assert "not valid" in resp.get_data(as_text=True)
    assert client.get("/finance/").status_code == 401
    bad = {"Authorization": "Bearer " + scene.admin[:-2] + "xx"}
    assert client.get("/api/decisions", headers=bad).status_code == 401
    assert client.get("/api/follow-ups", headers=bad).status_code == 401


def test_tokens_are_stored_only_as_their_hash(scene: Scene) -> None:
    snapshot = repr(scene.snapshot()) + repr(scene.shop.runtime.engine.url)
    with scene.shop.runtime.engine.connect() as conn:
        from sqlalchemy import text

        stored = [r.token_hash for r in conn.execute(text("SELECT token_hash FROM tokens"))]
    assert hash_token(scene.admin) in stored
    assert scene.admin not in repr(stored) + snapshot


def test_an_expired_session_is_refused_and_cannot_approve(scene: Scene) -> None:
    client = scene.login(scene.admin)
    assert client.get("/finance/").status_code == 200
    token = csrf(client, "/finance/reviews")
    before = scene.snapshot()
    scene.shop.now += timedelta(hours=8, seconds=1)
    assert client.get("/finance/").status_code == 401
    resp = client.post(f"/finance/reviews/{scene.review_id}",
                       data={"action": "approve", "note": "ok", "csrf_token": token})
    assert resp.status_code == 401
    assert scene.snapshot() == before


def test_an_expired_token_ends_its_session_and_its_api_access(scene: Scene) -> None:
    client = scene.login(scene.finance)
    scene.shop.now += timedelta(days=30)
    assert check_token(scene.shop.runtime.engine, scene.finance, scene.shop.now) is None
    assert client.get("/finance/").status_code == 401
    assert client.get("/finance/follow-ups").status_code == 401
    for path in ("/api/decisions", "/api/follow-ups"):
        resp = client.get(path, headers={"Authorization": f"Bearer {scene.finance}"})
        assert resp.status_code == 401


def test_a_finance_token_reads_but_cannot_approve_anything(scene: Scene) -> None:
    client = scene.login(scene.finance)
    page = client.get("/finance/reviews").get_data(as_text=True)
    assert "Only an admin can decide reviews." in page
    token = csrf(client, "/finance/reviews")
    before = scene.snapshot()
    for action in ("approve", "decline"):
        resp = client.post(f"/finance/reviews/{scene.review_id}",
                           data={"action": action, "note": "please", "csrf_token": token})
        assert resp.status_code == 403
    resp = client.post(f"/api/reviews/{scene.review_id}",
                       headers={"Authorization": f"Bearer {scene.finance}"},
                       json={"action": "approve", "note": "please"})
    assert resp.status_code == 403
    assert scene.snapshot() == before


def test_a_form_without_its_csrf_token_is_refused_and_nothing_changes(scene: Scene) -> None:
    client = scene.login(scene.admin)
    before = scene.snapshot()
    url = f"/finance/reviews/{scene.review_id}"
    assert client.post(url, data={"action": "approve", "note": "ok"}).status_code == 400
    forged = {"action": "approve", "note": "ok", "csrf_token": "forged"}
    assert client.post(url, data=forged).status_code == 400
    assert client.post("/finance/logout").status_code == 400
    assert scene.snapshot() == before


def test_a_login_form_without_its_csrf_token_is_refused(scene: Scene) -> None:
    client = scene.shop.app.test_client()
    resp = client.post("/finance/login", data={"token": scene.admin})
    assert resp.status_code == 400
    assert client.get("/finance/").status_code == 401


def test_logging_out_ends_the_session(scene: Scene) -> None:
    client = scene.login(scene.finance)
    resp = client.post("/finance/logout", data={"csrf_token": csrf(client, "/finance/")})
    assert resp.status_code == 303
    assert client.get("/finance/").status_code == 401


def test_without_a_configured_secret_key_the_app_uses_the_key_kept_in_the_database(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """As under gunicorn run directly (no `refunds serve` to fill the key in): a restart, or
    another worker, reads the same key, so sessions and status links survive; one line says so."""
    from datetime import UTC, datetime

    from refunds_plugin.ledger.instance import KEPT
    from refunds_plugin.ledger.tables import instance_keys
    from tests.fakes.shop import Shop

    when = datetime(2026, 11, 24, tzinfo=UTC)
    with caplog.at_level("WARNING", logger="refunds.web"):
        first = Shop(sqlite_url, when, secret_key="")
        key = first.app.config["SECRET_KEY"]
        first.runtime.engine.dispose()
        again = Shop(sqlite_url, when, secret_key="")  # a restart on the same database
    with again.runtime.engine.connect() as conn:
        kept = conn.execute(select(instance_keys.c.value)).scalar_one()
    assert isinstance(key, str) and len(key) == 64
    assert again.app.config["SECRET_KEY"] == key == kept
    assert [r.getMessage() for r in caplog.records if r.name == "refunds.web"] == [KEPT, KEPT]
    again.runtime.engine.dispose()


def _refusal(resp: Any) -> tuple[str, list[tuple[str, str]]]:
    """The refusal's heading and message, and the links under it, as a person reads them."""
    html = resp.get_data(as_text=True)
    main = html[html.index("<h1>"):]
    said = " ".join(unescape(re.sub(r"<[^>]+>", " ", main[:main.index("</p>")])).split())
    links = re.findall(r'<a(?: class="back")? href="([^"]+)">([^<]+)</a>', main)
    return said, [(href, unescape(words)) for href, words in links]


def test_a_warehouse_token_is_led_to_the_receiving_page_not_to_pages_it_cannot_open(
    scene: Scene,
) -> None:
    dock = create_token(scene.shop.runtime.engine, "Dock", "warehouse", scene.shop.now).secret
    client = scene.login(dock)

    resp = client.get("/finance/")

    assert resp.status_code == 403
    assert _refusal(resp) == (
        "Not allowed This needs the finance or admin role; your token is warehouse.",
        [("/finance/receive", "Receive returns")])
    assert client.get("/finance/receive").status_code == 200


def test_a_finance_token_refused_an_admin_page_is_led_back_to_the_decisions(
    scene: Scene,
) -> None:
    client = scene.login(scene.finance)

    resp = client.get("/finance/tokens/")

    assert resp.status_code == 403
    assert _refusal(resp) == (
        "Not allowed This needs the admin role; your token is finance.",
        [("/finance/", "Back to the decisions"), ("/finance/login", "Log in")])


def test_a_refusal_names_every_role_that_opens_the_page(scene: Scene) -> None:
    """A finance token on the receiving page read "This needs the warehouse role", though an
    admin token opens it too; and a warehouse token on the decisions "the finance role"."""
    client = scene.login(scene.finance)
    resp = client.get("/finance/receive")
    assert resp.status_code == 403
    assert _refusal(resp)[0] == (
        "Not allowed This needs the warehouse or admin role; your token is finance.")

    dock = create_token(scene.shop.runtime.engine, "Dock", "warehouse", scene.shop.now).secret
    resp = scene.login(dock).get("/finance/summary")
    assert _refusal(resp)[0] == (
        "Not allowed This needs the finance or admin role; your token is warehouse.")
    resp = scene.login(scene.finance).get("/finance/tokens/")
    assert _refusal(resp)[0] == "Not allowed This needs the admin role; your token is finance."
