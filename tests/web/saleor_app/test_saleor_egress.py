"""The Saleor app's outbound requests (install token check, JWKS, order re-queries, the
provider): only to allow-listed API URLs' origins, never to private, loopback or link-local
addresses unless the merchant allows them, no redirects followed, a timeout always, and at most
``max_bytes`` of an answer read."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from refunds_plugin.ledger.tables import saleor_installs
from refunds_plugin.saleor.egress import Egress, EgressRefused, GuardedSession
from tests.fakes import Clock
from tests.fakes.saleor_api import FakeSaleor
from tests.fakes.saleor_harness import SaleorHarness

SHOP = "https://shop.example.com/graphql/"


def _fixed(*addresses: str) -> Any:
    return lambda _host, _port: list(addresses)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "::1", "fe80::1",
    "fd00::5", "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1",
])
def test_an_allowed_url_that_resolves_to_a_private_address_is_refused(address: str) -> None:
    egress = Egress((SHOP,), resolve=_fixed("93.184.216.34", address))
    with pytest.raises(EgressRefused, match="private, loopback or link-local"):
        egress.check(SHOP)


def test_a_public_address_passes_and_allow_private_skips_the_lookup() -> None:
    Egress((SHOP,), resolve=_fixed("93.184.216.34")).check(SHOP + "?x=1")

    def never(_host: str, _port: int) -> list[str]:
        raise AssertionError("no lookup when private addresses are allowed")

    Egress(("http://127.0.0.1:8000/graphql/",), allow_private=True, resolve=never).check(
        "http://127.0.0.1:8000/.well-known/jwks.json")


@pytest.mark.parametrize("url", [
    "https://other.example.com/graphql/", "http://shop.example.com/graphql/",
    "https://shop.example.com:8443/graphql/", "file:///etc/passwd", "gopher://shop.example.com/",
])
def test_only_the_allowed_origins_may_be_called(url: str) -> None:
    with pytest.raises(EgressRefused):
        Egress((SHOP,), allow_private=True).check(url)


@responses.activate
def test_a_redirect_is_answered_not_followed() -> None:
    responses.add(responses.GET, "https://shop.example.com/.well-known/jwks.json", status=302,
                  headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    session = GuardedSession(Egress((SHOP,), allow_private=True))
    resp = session.get("https://shop.example.com/.well-known/jwks.json", allow_redirects=True)
    assert resp.status_code == 302
    assert [c.request.url for c in responses.calls] == [
        "https://shop.example.com/.well-known/jwks.json"]


@responses.activate
def test_an_answer_over_the_size_limit_is_refused_and_every_call_has_a_timeout() -> None:
    seen: list[Any] = []

    def big(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        seen.append(request)
        return 200, {}, b"x" * 2000

    responses.add_callback(responses.POST, SHOP, callback=big)
    session = GuardedSession(Egress((SHOP,), allow_private=True, max_bytes=1000))
    with pytest.raises(EgressRefused, match="more than 1000 bytes"):
        session.post(SHOP, json={})
    small = GuardedSession(Egress((SHOP,), allow_private=True, max_bytes=5000))
    assert small.post(SHOP, json={}).content == b"x" * 2000
    assert len(seen) == 2


@pytest.fixture
def strict_shop(sqlite_url: str, clock: Clock) -> Iterator[SaleorHarness]:
    """The real app as the merchant runs it: private addresses not allowed. Its allowed API
    URL is on this machine (127.0.0.1), as a forged or mistaken install would be."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        h = SaleorHarness(sqlite_url, clock, FakeSaleor(mock),
                          saleor_allowed_api_urls=("http://127.0.0.1:9/graphql/",),
                          saleor_allow_private_addresses=False)
        yield h
        h.close()


def test_an_install_pointing_at_this_machine_is_refused_and_nothing_is_sent_or_stored(
    strict_shop: SaleorHarness,
) -> None:
    resp = strict_shop.client.post("/saleor/register", json={"auth_token": "t"},
                                   headers={"Saleor-Api-Url": "http://127.0.0.1:9/graphql/"})
    assert resp.status_code == 403
    body = resp.get_json()["error"]
    assert body["code"] == "api_url_not_allowed"
    assert "127.0.0.1 resolves to 127.0.0.1" in body["message"]
    with strict_shop.engine.connect() as conn:
        assert list(conn.execute(select(saleor_installs))) == []
    assert strict_shop.saleor.calls == [] and strict_shop.saleor.jwks_fetches == 0
    with pytest.raises(EgressRefused):  # the re-queries' session refuses it too
        strict_shop.runtime.saleor_events.session.post("http://127.0.0.1:9/graphql/", json={})


def _install_at(sqlite_url: str, clock: Clock, api_url: str, *,
                allow_private: bool) -> tuple[int, Any, list[Any]]:
    """``POST /saleor/register`` from ``api_url`` (allowed) to a fresh shop: the status, the
    error and what was stored."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        h = SaleorHarness(sqlite_url, clock, FakeSaleor(mock),
                          saleor_allowed_api_urls=(api_url,),
                          saleor_allow_private_addresses=allow_private)
        try:
            resp = h.client.post("/saleor/register", json={"auth_token": "t"},
                                 headers={"Saleor-Api-Url": api_url})
            with h.engine.connect() as conn:
                stored = list(conn.execute(select(saleor_installs)))
        finally:
            h.close()
    return resp.status_code, resp.get_json()["error"], stored


UNREACHABLE = ("could not reach Saleor at {url} ({why}); check that this service can reach the "
               "store's API URL, then install again")


def test_an_install_whose_host_does_not_resolve_is_a_clear_400_not_a_500(
    sqlite_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_host(host: str, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    url = "https://shop.invalid/graphql/"

    said = _install_at(sqlite_url, clock, url, allow_private=False)

    assert said == (400, {"code": "saleor_unreachable", "message": UNREACHABLE.format(
        url=url, why="cannot resolve shop.invalid: [Errno -2] Name or service not known")}, [])


def test_an_install_whose_saleor_refuses_the_connection_says_the_same(
    sqlite_url: str, clock: Clock,
) -> None:
    url = "http://127.0.0.1:9/graphql/"

    said = _install_at(sqlite_url, clock, url, allow_private=True)

    assert said == (400, {"code": "saleor_unreachable",
                          "message": UNREACHABLE.format(url=url, why="ConnectionError")}, [])
