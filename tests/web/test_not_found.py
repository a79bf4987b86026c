"""An address nothing answers: a browser reads a page with a way back; programs, and every
client of ``/api/*`` and ``/webhooks/*``, get the contract's JSON error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from tests.fakes.shop import Shop

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def client(tmp_path: object, now: datetime) -> Iterator[FlaskClient]:
    shop = Shop(f"sqlite:///{tmp_path}/shop.db", now)
    yield shop.app.test_client()
    shop.runtime.engine.dispose()


def _said(html: str) -> list[str]:
    return re.findall(r'<h1>(.*?)</h1>|<p class="(?:error|notice)" role="alert">(.*?)</p>'
                      r'|<a class="(?:back|button)" href="([^"]*)">(.*?)</a>', html)


@pytest.mark.parametrize(("path", "words"), [
    ("/finance/ledger", "There is no finance page at this address."),
    ("/finance/exports", "There is no finance page at this address."),
    ("/nowhere", "There is no page at this address."),
])
def test_a_browser_reads_a_not_found_page_that_leads_back_to_finance(
    client: FlaskClient, path: str, words: str,
) -> None:
    resp = client.get(path, headers={"Accept": BROWSER})
    assert (resp.status_code, resp.mimetype) == (404, "text/html")
    assert _said(resp.get_data(as_text=True)) == [
        ("Not found", "", "", ""), ("", words, "", ""),
        ("", "", "/finance/", "Back to the finance pages")]


def test_a_customer_lost_under_returns_is_led_back_to_the_returns_page_in_their_language(
    client: FlaskClient,
) -> None:
    resp = client.get("/returns/nope", headers={"Accept": BROWSER, "Accept-Language": "de"})
    assert (resp.status_code, resp.mimetype) == (404, "text/html")
    assert _said(resp.get_data(as_text=True)) == [
        ("Seite nicht gefunden", "", "", ""),
        ("", "Unter dieser Adresse gibt es keine Seite. Um etwas zurückzusenden, beginnen Sie "
             "bitte noch einmal auf der Rücksendeseite.", "", ""),
        ("", "", "/returns", "Von vorn beginnen")]


@pytest.mark.parametrize(("path", "accept"), [
    ("/api/nope", BROWSER), ("/api", BROWSER), ("/webhooks/nope", BROWSER),
    ("/finance/ledger", "*/*"), ("/finance/ledger", "application/json"),
])
def test_programs_and_the_json_contract_keep_the_json_error(
    client: FlaskClient, path: str, accept: str,
) -> None:
    resp = client.get(path, headers={"Accept": accept})
    assert (resp.status_code, resp.mimetype) == (404, "application/json")
    assert resp.get_json()["error"]["code"] == "not_found"


def test_a_spanish_customer_lost_under_returns_is_addressed_as_tu_like_everywhere_else(
    client: FlaskClient,
) -> None:
    resp = client.get("/returns/nope", headers={"Accept": BROWSER, "Accept-Language": "es"})
    assert resp.status_code == 404
    assert _said(resp.get_data(as_text=True))[1] == (
        "", "No hay ninguna página en esta dirección. Para devolver algo, vuelve a empezar "
            "desde la página de devoluciones.", "", "")
