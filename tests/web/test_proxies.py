"""Behind a load balancer the client address comes from X-Forwarded-For, and only then."""

from __future__ import annotations

from flask import request

from tests.fakes import Clock, Harness


def _echo_app(db_url: str, clock: Clock, proxies: int) -> Harness:
    h = Harness(db_url, clock, settings={"trusted_proxies": proxies})
    h.app.add_url_rule("/_test/addr", "addr", lambda: request.remote_addr or "")
    return h


def test_client_address_comes_from_the_trusted_proxy_header(sqlite_url: str, clock: Clock) -> None:
    h = _echo_app(sqlite_url, clock, proxies=1)
    try:
        resp = h.client().get("/_test/addr", headers={"X-Forwarded-For": "203.0.113.9"},
                              environ_base={"REMOTE_ADDR": "10.0.0.2"})
        assert resp.get_data(as_text=True) == "203.0.113.9"
    finally:
        h.close()


def test_without_trusted_proxies_a_forged_header_is_ignored(sqlite_url: str, clock: Clock) -> None:
    h = _echo_app(sqlite_url, clock, proxies=0)
    try:
        resp = h.client().get("/_test/addr", headers={"X-Forwarded-For": "203.0.113.9"},
                              environ_base={"REMOTE_ADDR": "10.0.0.2"})
        assert resp.get_data(as_text=True) == "10.0.0.2"
    finally:
        h.close()
