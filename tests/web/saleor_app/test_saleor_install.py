"""Installing the app: the manifest, and the token exchange at ``POST /saleor/register``."""

from __future__ import annotations

import responses
from sqlalchemy import select

from refunds_plugin.ledger.tables import saleor_installs
from tests.fakes.saleor_api import API_URL, APP_ID, JWKS_URL


def _rows(shop):
    with shop.engine.connect() as conn:
        return list(conn.execute(select(saleor_installs)))


def test_the_manifest_names_permissions_events_and_the_token_url(shop):
    data = shop.client.get("/saleor/manifest", base_url="https://refunds.example.com").get_json()
    assert data["id"] == "refunds-plugin"
    assert data["requiredSaleorVersion"] == ">=3.20"
    assert data["permissions"] == ["MANAGE_ORDERS", "HANDLE_PAYMENTS", "MANAGE_GIFT_CARD"]
    assert data["tokenTargetUrl"] == "https://refunds.example.com/saleor/register"
    events = [e for w in data["webhooks"] for e in w["asyncEvents"]]
    assert events == ["ORDER_FULLY_PAID", "ORDER_UPDATED", "ORDER_REFUNDED", "ORDER_FULLY_REFUNDED"]
    assert all(w["targetUrl"] == "https://refunds.example.com/webhooks/saleor"
               for w in data["webhooks"])
    assert all("issuingPrincipal" in w["query"] for w in data["webhooks"])


def test_register_checks_the_token_fetches_the_jwks_and_stores_the_install(shop):
    resp = shop.install()
    assert resp.status_code == 200 and resp.get_json() == {"success": True}
    [row] = _rows(shop)
    assert (row.api_url, row.app_id, row.token) == (API_URL, APP_ID, "saleor-app-token-1")
    assert '"kid-1"' in row.jwks
    assert [c[0] for c in shop.saleor.calls] == ["AppId"]
    assert shop.saleor.jwks_fetches == 1


def test_a_retried_install_replaces_the_token_instead_of_adding_a_row(shop):
    assert shop.install().status_code == 200
    shop.saleor.token = "saleor-app-token-2"
    assert shop.install("saleor-app-token-2").status_code == 200
    [row] = _rows(shop)
    assert row.token == "saleor-app-token-2"


def test_register_refuses_a_saleor_the_merchant_did_not_allow(shop):
    resp = shop.client.post("/saleor/register", json={"auth_token": "t"},
                            headers={"Saleor-Api-Url": "https://other.example.com/graphql/"})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "api_url_not_allowed"
    assert _rows(shop) == []
    assert shop.saleor.calls == [] and shop.saleor.jwks_fetches == 0


def test_register_refuses_a_token_saleor_does_not_accept(shop):
    resp = shop.install("not-the-token")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "token_not_accepted"
    assert _rows(shop) == []
    assert shop.saleor.jwks_fetches == 0


def test_register_without_the_api_url_header_is_refused(shop):
    resp = shop.client.post("/saleor/register", json={"auth_token": "t"})
    assert resp.status_code == 400
    assert _rows(shop) == []


def test_an_allowed_api_url_written_without_its_last_slash_still_lets_the_store_install(
    sqlite_url, clock, saleor,
):
    from refunds_plugin.config import load_config
    from tests.fakes.saleor_harness import SaleorHarness

    config = load_config(env={"REFUNDS_SALEOR_ALLOWED_API_URLS":
                              "https://shop.example.com/graphql, https://b.example.com/graphql/"})
    assert config.saleor_allowed_api_urls == (API_URL, "https://b.example.com/graphql/")
    shop = SaleorHarness(sqlite_url, clock, saleor,
                         saleor_allowed_api_urls=config.saleor_allowed_api_urls)
    try:
        resp = shop.install()  # Saleor sends https://shop.example.com/graphql/
        assert (resp.status_code, resp.get_json()) == (200, {"success": True})
        assert [row.api_url for row in _rows(shop)] == [API_URL]
    finally:
        shop.close()


def test_register_says_the_store_s_signing_keys_could_not_be_fetched_and_stores_nothing(shop):
    # docs/saleor.md names this answer among the install's errors the Dashboard may show
    shop.saleor.mock.replace(responses.GET, JWKS_URL, status=404)
    resp = shop.install()
    assert resp.status_code == 503
    assert resp.get_json() == {"error": {
        "code": "jwks_unavailable",
        "message": "https://shop.example.com/.well-known/jwks.json answered HTTP 404"}}
    assert _rows(shop) == []
