"""A malformed storefront return request (a line the order lacks, the same line twice, more
units than the order has left to return) is a 400 naming the line, with nothing recorded: no
inbox row, no decision, no attempt. Lines the policy refuses are decided line by line, and a
request decided before is answered with its decision even though its units are now returned."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.fakes.returns_shop import SECRET, ReturnsShop, order_event
from webhooks import signatures

LINES = [
    {"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 2, "unit_amount": 2500},
    {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000,
     "tags": ["final-sale"]},
    {"id": "l3", "sku": "SOCK", "name": "Wool socks", "quantity": 1, "unit_amount": 200},
]


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now, {"policy": "preset:standard-30-day"})
    s.seed(order_event("1001", lines=LINES))
    yield s
    s.close()


def _post(shop: ReturnsShop, rid: str, lines: list[tuple[str, int]],
          reason: str = "damaged") -> TestResponse:
    body = json.dumps({"id": f"evt_{rid}", "type": "return.requested", "created": 1764000100,
                       "data": {"return": {"id": rid, "order_id": "1001", "lines": [
                           {"line_id": lid, "quantity": q, "reason": reason}
                           for lid, q in lines]}}})
    header = signatures.sign(SECRET, body.encode(), int(shop.clock().timestamp()))
    return shop.app.test_client().post(
        "/webhooks/storefront", data=body,
        headers={"Refunds-Signature": header, "Content-Type": "application/json"})


@pytest.mark.parametrize(("lines", "said"), [
    pytest.param([("l3", 9)], "line l3 (Wool socks): only 1 can still be returned, not 9",
                 id="9-of-1"),
    pytest.param([("l1", 1), ("l9", 1)], "line l9: the order has no such line", id="unknown"),
    pytest.param([("l1", 1), ("l1", 1)],
                 "line l1: it is named more than once; name each line once", id="twice"),
    pytest.param([("l9", 1), ("l1", 3), ("l1", 1)],
                 "line l9: the order has no such line; line l1 (Blue enamel mug): only 2 can "
                 "still be returned, not 3; line l1: it is named more than once; name each "
                 "line once", id="every-line-named"),
])
def test_a_malformed_request_is_400_naming_the_line_and_records_nothing(
    shop: ReturnsShop, lines: list[tuple[str, int]], said: str
) -> None:
    before = shop.snapshot()

    resp = _post(shop, "r-1", lines)

    assert (resp.status_code, resp.get_json()) == (
        400, {"error": {"code": "invalid_line", "message": said}})
    assert shop.snapshot() == before  # no event row, no decision, no attempt


def test_units_already_returned_are_not_left_and_the_earlier_request_still_answers(
    shop: ReturnsShop,
) -> None:
    first = _post(shop, "r-1", [("l3", 1)])
    assert (first.status_code, first.get_json()["outcome"]) == (201, "approve")
    before = shop.snapshot()

    again = _post(shop, "r-2", [("l3", 1)])
    redelivered = _post(shop, "r-1", [("l3", 1)])  # the first request, sent again

    assert (again.status_code, again.get_json()) == (400, {"error": {
        "code": "invalid_line",
        "message": "line l3: a return has already been requested for every unit of Wool socks"}})
    assert (redelivered.status_code, redelivered.get_json()["duplicate"]) == (200, True)
    assert redelivered.get_json()["decision_id"] == first.get_json()["decision_id"]
    assert shop.snapshot() == before


def test_lines_the_policy_refuses_are_decided_line_by_line(shop: ReturnsShop) -> None:
    resp = _post(shop, "r-1", [("l1", 1), ("l2", 1)], reason="changed_mind")

    answer: dict[str, Any] = resp.get_json()
    assert (resp.status_code, answer["outcome"], answer["reason_code"], answer["amount"]) == (
        201, "approve", "partially_approved", 1905)
    assert answer["explanation"] == (
        "Your return of 1 × Blue enamel mug is approved. Dry run: we would refund 19.05 USD to "
        "your original payment; no money moves. We deducted 5.95 USD return shipping, as the "
        "return is not due to a fault of ours. Please send back: Blue enamel mug. Not included: "
        "Linen shirt was sold as final sale and cannot be returned.")
    # the shop runs in the dry run: "we would", and no promise of when money that never moves
    # is on its way
    assert answer["dry_run"] is True
