"""Every HTML page carries the security headers, finance included; HSTS only behind HTTPS;
the session cookie is HttpOnly, SameSite=Lax and (behind HTTPS) Secure; pages hold no inline
script or style; and a page added later by another area gets all of it without asking."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from flask import Blueprint, render_template_string, request

from tests.fakes.finance_scene import Scene, make_scene
from tests.fakes.returns_shop import ReturnsShop, order_event
from webhooks import create_app

PAGES = ["/finance/login", "/finance/", "/finance/reviews", "/finance/summary",
         "/finance/follow-ups", "/finance/tokens/"]


@pytest.fixture
def scene(sqlite_url: str, now: datetime) -> Iterator[Scene]:
    built = make_scene(sqlite_url, now)
    yield built
    built.shop.runtime.engine.dispose()


def _secured(resp: object) -> None:
    headers = resp.headers  # type: ignore[attr-defined]
    csp = headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def _no_inline(html: str) -> None:
    assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", html, re.IGNORECASE), html[:500]


def test_every_finance_page_has_the_security_headers_and_no_inline_code(scene: Scene) -> None:
    client = scene.login(scene.admin)
    for path in [*PAGES, f"/finance/decisions/{scene.approved_id}"]:
        resp = client.get(path)
        assert resp.mimetype == "text/html", path
        _secured(resp)
        _no_inline(resp.get_data(as_text=True))
        assert "Strict-Transport-Security" not in resp.headers  # not told it is behind HTTPS


def test_the_finance_api_and_the_webhooks_answer_with_them_too(scene: Scene) -> None:
    client = scene.shop.app.test_client()
    for resp in (client.get("/api/decisions", headers={"Authorization": f"Bearer {scene.admin}"}),
                 client.post("/webhooks/storefront", data=b"{}"), client.get("/healthz")):
        _secured(resp)


def test_every_returns_page_has_them_and_the_shop_colours_come_from_a_stylesheet(
    tmp_path: Path, clock: object
) -> None:
    shop = ReturnsShop(f"sqlite:///{tmp_path / 'r.db'}", clock,  # type: ignore[arg-type]
                       settings={"shop_primary_color": "#aa0000"})
    shop.seed(order_event())
    client = shop.app.test_client()
    for path in ("/returns", "/returns/status/not-a-token", "/returns/nowhere"):
        resp = client.get(path)
        _secured(resp)
        _no_inline(resp.get_data(as_text=True))
    css = client.get("/returns/theme.css")
    assert css.mimetype == "text/css"
    assert "--primary: #aa0000;" in css.get_data(as_text=True)
    shop.close()


def test_behind_https_pages_send_hsts_and_the_session_cookie_is_secure(scene: Scene) -> None:
    rt = scene.shop.runtime
    app = create_app(runtime=replace(rt, config=replace(rt.config, behind_https=True)))
    resp = app.test_client().get("/finance/login", base_url="https://refunds.example.com")
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_session_cookie_is_httponly_and_samesite_lax_without_https(scene: Scene) -> None:
    client = scene.shop.app.test_client()
    cookie = client.get("/finance/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_a_page_and_form_added_later_get_headers_and_csrf_without_asking(scene: Scene) -> None:
    """Another area's new page (issues 14-18 add some): registered after create_app."""
    app = create_app(runtime=scene.shop.runtime)
    bp = Blueprint("late_area", __name__)

    @bp.route("/late/form", methods=["GET", "POST"])
    def form() -> str:
        if request.method == "POST":
            return "saved"
        return render_template_string(
            '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>')

    app.register_blueprint(bp)
    client = app.test_client()
    page = client.get("/late/form")
    _secured(page)
    token = re.search(r'value="([^"]+)"', page.get_data(as_text=True))
    assert token is not None
    assert client.post("/late/form", data={}).status_code == 400  # no token: refused
    assert client.post("/late/form", data={"csrf_token": "forged"}).status_code == 400
    ok = client.post("/late/form", data={"csrf_token": token.group(1)})
    assert (ok.status_code, ok.get_data(as_text=True)) == (200, "saved")


def test_the_address_the_banner_names_leads_to_the_returns_page_and_no_icon_is_an_error(
    scene: Scene,
) -> None:
    # "refunds-plugin on http://127.0.0.1:8000" is the first thing a merchant opens; browsers
    # ask every page's /favicon.ico, and a 404 there is a console error on every page
    client = scene.shop.app.test_client()
    root = client.get("/")
    assert (root.status_code, root.headers["Location"]) == (302, "/returns")
    assert client.get("/", follow_redirects=True).status_code == 200
    icon = client.get("/favicon.ico")
    assert (icon.status_code, icon.get_data(), icon.headers["Cache-Control"]) == (
        204, b"", "public, max-age=86400")
    _secured(icon)
