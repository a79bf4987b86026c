"""Forged Saleor signatures cannot drive the service's outbound requests or writes: a ``kid``
the shop's cached key set lacks re-fetches the JWKS at most once per shop per
``REFETCH_COOL_DOWN_S``, yet Saleor's own key rotation is still picked up. And a signed body
Python cannot read (an integer of 4301 digits) is a 400 ``malformed_json``, never a 500."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from refunds_plugin.ledger.tables import saleor_installs
from refunds_plugin.saleor.jws import REFETCH_COOL_DOWN_S
from tests.fakes import Clock
from tests.fakes.saleor_api import rsa_key, sign
from tests.fakes.saleor_harness import SaleorHarness

ORDER = "T3JkZXI6MQ=="


def _stored_keys(shop: SaleorHarness) -> list[tuple[object, ...]]:
    with shop.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(saleor_installs)).all()]


def _forged(shop: SaleorHarness) -> int:
    body = json.dumps({"order": {"id": ORDER}}).encode()
    resp = shop.webhook("ORDER_FULLY_PAID", ORDER, body=body,
                        signature=sign(body, rsa_key("evil"), f"kid-{uuid.uuid4().hex}"))
    assert resp.get_json()["error"]["code"] == "invalid_signature"
    return resp.status_code


def test_fifty_forged_kids_cost_one_jwks_fetch_and_no_write(installed: SaleorHarness) -> None:
    installed.saleor.add_order(ORDER)
    stored = _stored_keys(installed)

    statuses = [_forged(installed) for _ in range(50)]

    assert statuses == [400] * 50
    assert installed.saleor.jwks_fetches == 2  # at install, and one re-fetch for the first kid
    assert _stored_keys(installed) == stored  # the same keys, written no second time
    assert installed.event_count() == 0


def test_a_rotated_key_is_picked_up_once_the_cool_down_has_passed(
    installed: SaleorHarness, clock: Clock,
) -> None:
    installed.saleor.add_order(ORDER)
    assert _forged(installed) == 400  # a forger's re-fetch, just before Saleor rotates
    installed.saleor.rotate()

    early = installed.webhook("ORDER_FULLY_PAID", ORDER)  # within the cool-down: refused…
    clock.advance(REFETCH_COOL_DOWN_S)
    retried = installed.webhook("ORDER_FULLY_PAID", ORDER)  # …Saleor's retry after it is taken

    assert (early.status_code, early.get_json()["error"]["code"]) == (400, "invalid_signature")
    assert (retried.status_code, retried.get_json()["duplicate"]) == (200, False)
    assert installed.saleor.jwks_fetches == 3
    assert installed.event_count() == 1


def test_a_signed_body_with_a_4301_digit_integer_is_400_malformed_json(
    installed: SaleorHarness,
) -> None:
    installed.saleor.add_order(ORDER)
    body = b'{"order": {"id": "' + ORDER.encode() + b'"}, "n": ' + b"9" * 4301 + b"}"

    resp = installed.webhook("ORDER_FULLY_PAID", ORDER, body=body)

    assert (resp.status_code, resp.get_json()["error"]["code"]) == (400, "malformed_json")
    assert installed.event_count() == 0
