"""``POST /webhooks/saleor`` verifies Saleor's detached RS256 JWS before recording anything."""

from __future__ import annotations

import hashlib
import hmac
import json

from refunds_plugin.saleor.installs import get_install
from tests.fakes.saleor_api import API_URL, rsa_key, sign
from tests.fakes.saleor_harness import SaleorHarness

ORDER = "T3JkZXI6MQ=="


def _error(resp) -> str:
    return resp.get_json()["error"]["code"]


def test_a_validly_signed_order_fully_paid_is_recorded_with_the_requeried_order(installed):
    installed.saleor.add_order(ORDER)
    resp = installed.webhook("ORDER_FULLY_PAID", ORDER)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["duplicate"] is False
    assert installed.event_count() == 1
    assert [c[0] for c in installed.saleor.calls] == ["AppId", "RefundsOrder"]


def test_a_redelivered_event_with_the_same_order_state_is_a_duplicate(installed):
    installed.saleor.add_order(ORDER)
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).get_json()["duplicate"] is False
    again = installed.webhook("ORDER_FULLY_PAID", ORDER)
    also = installed.webhook("ORDER_UPDATED", ORDER)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert also.get_json()["duplicate"] is True
    assert installed.event_count() == 1


def test_a_tampered_body_is_refused_and_nothing_is_recorded(installed):
    installed.saleor.add_order(ORDER)
    body = json.dumps({"order": {"id": ORDER}}).encode()
    signature = installed.saleor.signed(body)
    resp = installed.webhook(
        "ORDER_FULLY_PAID", ORDER, body=body.replace(b"}}", b"}, \"x\": 1}"), signature=signature
    )
    assert resp.status_code == 400
    assert _error(resp) == "invalid_signature"
    assert installed.event_count() == 0
    assert [c[0] for c in installed.saleor.calls] == ["AppId"]  # the order was not even asked


def test_an_unknown_kid_refetches_the_jwks_once_and_accepts_the_rotated_key(installed):
    installed.saleor.add_order(ORDER)
    assert installed.saleor.jwks_fetches == 1  # at install
    installed.saleor.rotate()
    resp = installed.webhook("ORDER_FULLY_PAID", ORDER)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert installed.saleor.jwks_fetches == 2
    with installed.engine.connect() as conn:
        install = get_install(conn, API_URL)
    assert install is not None and install.jwks is not None
    assert [k["kid"] for k in install.jwks["keys"]] == ["kid-2"]
    installed.saleor.orders[ORDER]["updatedAt"] = "2026-11-24T13:00:00+00:00"
    assert installed.webhook("ORDER_UPDATED", ORDER).status_code == 200
    assert installed.saleor.jwks_fetches == 2  # the rotated key is cached now


def test_a_kid_unknown_even_after_one_refetch_is_refused(installed):
    installed.saleor.add_order(ORDER)
    body = json.dumps({"order": {"id": ORDER}}).encode()
    resp = installed.webhook(
        "ORDER_FULLY_PAID", ORDER, body=body, signature=sign(body, rsa_key("evil"), "kid-evil")
    )
    assert resp.status_code == 400 and _error(resp) == "invalid_signature"
    assert installed.saleor.jwks_fetches == 2  # install + exactly one re-fetch
    assert installed.event_count() == 0


def test_a_right_kid_with_a_signature_from_another_key_is_refused(installed):
    body = json.dumps({"order": {"id": ORDER}}).encode()
    resp = installed.webhook(
        "ORDER_FULLY_PAID", ORDER, body=body, signature=sign(body, rsa_key("evil"), "kid-1")
    )
    assert resp.status_code == 400 and _error(resp) == "invalid_signature"
    assert installed.event_count() == 0


def test_an_unknown_saleor_api_url_is_refused_and_nothing_is_recorded(installed):
    resp = installed.webhook("ORDER_FULLY_PAID", ORDER, api_url="https://evil.example.com/graphql/")
    assert resp.status_code == 400 and _error(resp) == "unknown_api_url"
    assert installed.event_count() == 0
    assert installed.saleor.jwks_fetches == 1


def test_a_signature_with_an_algorithm_other_than_rs256_is_refused(installed):
    body = json.dumps({"order": {"id": ORDER}}).encode()
    resp = installed.webhook(
        "ORDER_FULLY_PAID", ORDER, body=body, signature=sign(body, rsa_key("one"), "kid-1", "HS256")
    )
    assert resp.status_code == 400 and _error(resp) == "unsupported_algorithm"
    assert installed.event_count() == 0


def test_a_missing_signature_header_is_refused(installed):
    resp = installed.webhook("ORDER_FULLY_PAID", ORDER, signature="")
    assert resp.status_code == 400 and _error(resp) == "missing_signature"
    assert installed.event_count() == 0


def test_a_legacy_hmac_signature_is_refused_when_no_secret_is_configured(installed):
    body = json.dumps({"order": {"id": ORDER}}).encode()
    digest = hmac.new(b"legacy", body, hashlib.sha256).hexdigest()
    resp = installed.webhook("ORDER_FULLY_PAID", ORDER, body=body, signature=digest)
    assert resp.status_code == 400 and _error(resp) == "invalid_signature"
    assert installed.event_count() == 0


def test_a_legacy_hmac_signature_is_accepted_only_with_the_configured_secret(
    sqlite_url, clock, saleor
):
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate

    migrate(make_engine(sqlite_url))
    shop = SaleorHarness(sqlite_url, clock, saleor, saleor_hmac_secret="legacy")
    assert shop.install().status_code == 200
    saleor.add_order(ORDER)
    body = json.dumps({"order": {"id": ORDER}}).encode()
    good = hmac.new(b"legacy", body, hashlib.sha256).hexdigest()
    bad = hmac.new(b"other", body, hashlib.sha256).hexdigest()
    assert shop.webhook("ORDER_FULLY_PAID", ORDER, body=body, signature=bad).status_code == 400
    assert shop.event_count() == 0
    assert shop.webhook("ORDER_FULLY_PAID", ORDER, body=body, signature=good).status_code == 200
    assert shop.event_count() == 1
    shop.close()


def test_an_event_type_the_app_does_not_handle_is_acknowledged_and_not_recorded(installed):
    resp = installed.webhook("ORDER_CREATED", ORDER)
    assert resp.status_code == 200 and resp.get_json()["ignored"] == "order_created"
    assert installed.event_count() == 0


def test_when_the_order_cannot_be_requeried_saleor_is_asked_to_retry_and_nothing_is_recorded(
    installed,
):
    installed.saleor.add_order(ORDER)
    installed.saleor.fail["RefundsOrder"] = ["network_before"]
    resp = installed.webhook("ORDER_FULLY_PAID", ORDER)
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "network_error"
    assert installed.event_count() == 0
    again = installed.webhook("ORDER_FULLY_PAID", ORDER)
    assert again.status_code == 200 and again.get_json()["duplicate"] is False
    assert installed.event_count() == 1
