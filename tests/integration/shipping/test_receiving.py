"""Receiving at the packing table, through ``POST /api/returns/<id>/receive`` with a warehouse
token: a match releases the held money, a mismatch goes to a person with the evidence, receiving
again is answered with what was recorded, and more units than the return takes back are refused
with nothing recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import return_receipts, reviews
from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 365, start: payment}
refund_on: inspected
"""
TWO = [{"line_id": "l1", "quantity": 2, "reason": "changed_mind"}]


@pytest.fixture
def shop(returns_service: Callable[..., Returns]) -> Returns:
    r = returns_service(POLICY, label=False)
    r.paid(lines=[{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2,
                   "unit_amount": 2500}])
    return r


def _token(r: Returns, role: str = "warehouse") -> str:
    return create_token(r.h.runtime.engine, "Dock", role, r.h.clock()).secret


def _receive(r: Returns, decision_id: str, lines: list[dict[str, Any]],
             token: str | None = None) -> tuple[int, dict[str, Any]]:
    resp = r.h.client().post(f"/api/returns/{decision_id}/receive", json={"lines": lines},
                             headers={"Authorization": f"Bearer {token or _token(r)}"})
    assert resp.json is not None
    return resp.status_code, dict(resp.json)


def test_a_matching_receipt_releases_the_held_refund(shop: Returns) -> None:
    decision = shop.ask(lines=TWO)["decision_id"]
    assert shop.attempts() == [("refund", 5500, "held")]  # both mugs, the shipping with them

    status, body = _receive(shop, decision, [{"line_id": "l1", "condition": "opened",
                                              "quantity": 2, "restock": True}])

    assert status == 200
    assert (body["matched"], body["mismatches"], body["duplicate"]) == (True, [], False)
    assert body["restock"] == [{"line_id": "l1", "quantity": 2, "status": "listed",
                                "received_at": body["restock"][0]["received_at"]}]
    assert len(body["released_attempts"]) == 1
    shop.h.drain()
    assert shop.attempts() == [("refund", 5500, "succeeded")]
    [(kind, received)] = shop.journal("return_received")
    assert received["matched"] is True and received["lines"] == [
        {"line_id": "l1", "quantity": 2, "condition": "opened", "restock": True}]


@pytest.mark.parametrize("line,why", [
    ({"line_id": "l1", "condition": "missing"}, "l1: missing from the parcel"),
    ({"line_id": "l1", "condition": "wrong_item"}, "l1: a different item came back"),
    ({"line_id": "l1", "condition": "as_new", "quantity": 1}, "l1: 1 of 2 units came back"),
    ({"line_id": "l1", "condition": "damaged"}, "l1: damaged, but the claim was changed mind"),
])
def test_a_mismatch_goes_to_a_person_with_the_evidence_and_pays_nothing_yet(
    shop: Returns, line: dict[str, Any], why: str,
) -> None:
    decision = shop.ask(lines=TWO)["decision_id"]

    status, body = _receive(shop, decision, [line])

    assert (status, body["matched"], body["mismatches"]) == (200, False, [why])
    assert [(x.status, x.reason) for x in shop.h.rows(reviews)] == [
        ("open", f"received_mismatch: {why}")]
    shop.h.drain()
    assert shop.attempts() == [("refund", 5500, "held")]


@pytest.mark.parametrize("approve,after", [(True, "succeeded"), (False, "canceled")])
def test_a_person_approving_a_mismatch_releases_the_money_and_declining_cancels_it(
    shop: Returns, approve: bool, after: str,
) -> None:
    decision = shop.ask(lines=TWO)["decision_id"]
    _receive(shop, decision, [{"line_id": "l1", "condition": "damaged"}])

    decide(shop.h.runtime.engine, shop.h.runtime.service, decision, approve=approve, by="ada",
           note="photos checked", now=shop.h.clock())
    shop.h.drain()

    assert shop.attempts() == [("refund", 5500, after)]
    assert [x.status for x in shop.h.rows(reviews)] == ["approved" if approve else "declined"]
    assert verify_ledger(shop.h.runtime.engine) == []


def test_receiving_twice_is_answered_with_what_was_recorded(shop: Returns) -> None:
    decision = shop.ask(lines=TWO)["decision_id"]
    line = {"line_id": "l1", "condition": "as_new", "quantity": 2}
    first = _receive(shop, decision, [line])
    rows = shop.h.rows(return_receipts)

    again = _receive(shop, decision, [line])
    other = _receive(shop, decision, [{**line, "condition": "damaged"}])

    assert (first[1]["duplicate"], again[0], again[1]["duplicate"]) == (False, 200, True)
    assert again[1]["lines"] == first[1]["lines"]
    assert other == (409, {"error": {"code": "already_received", "message":
        "this return was received before as l1=as_new×2; a person can change it from the "
        "review"}})
    assert shop.h.rows(return_receipts) == rows
    assert len(shop.journal("return_received")) == 1


def test_more_units_than_the_return_takes_back_are_refused_with_nothing_recorded(
    shop: Returns,
) -> None:
    decision = shop.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])[
        "decision_id"]
    before = shop.journal()

    status, body = _receive(shop, decision, [{"line_id": "l1", "condition": "as_new",
                                              "quantity": 3}])

    assert (status, body) == (400, {"error": {"code": "too_many_units", "message":
        "line l1: 3 units received, but the return takes back 1"}})
    assert shop.h.rows(return_receipts) == [] and shop.journal() == before
    assert shop.shipment().status == "instructions"


def test_no_such_return_is_a_404_whatever_lines_are_sent(shop: Returns) -> None:
    # the return is looked up before its lines are read: a line named twice or an empty list
    # is no 400 about lines the return does not have
    before = shop.journal()
    line = {"line_id": "l1", "condition": "as_new"}
    missing = (404, {"error": {"code": "unknown_return",
                               "message": "no return is waiting for decision nope"}})
    assert _receive(shop, "nope", [line, line]) == missing
    assert _receive(shop, "nope", []) == missing
    assert shop.h.rows(return_receipts) == [] and shop.journal() == before
    decision = shop.ask(lines=TWO)["decision_id"]
    before = shop.journal()
    assert _receive(shop, decision, [line, line]) == (
        400, {"error": {"code": "invalid_line", "message": "line l1 is named twice"}})
    assert _receive(shop, decision, []) == (
        400, {"error": {"code": "invalid_payload",
                        "message": "lines: expected a list of {line_id, condition, quantity, "
                                   "restock}"}})
    assert shop.h.rows(return_receipts) == [] and shop.journal() == before


def test_only_warehouse_and_admin_tokens_may_receive(shop: Returns) -> None:
    decision = shop.ask(lines=TWO)["decision_id"]
    line = [{"line_id": "l1", "condition": "as_new"}]
    assert _receive(shop, decision, line, _token(shop, "finance")) == (
        403, {"error": {"code": "forbidden", "message": "this needs the warehouse or admin role"}})
    assert _receive(shop, decision, line, _token(shop, "admin"))[0] == 200


def test_the_packing_table_finds_a_return_by_order_number_or_tracking_code(
    shop: Returns,
) -> None:
    decision = shop.ask(lines=TWO)["decision_id"]
    resp = shop.h.client().get("/api/returns?q=1001",
                               headers={"Authorization": f"Bearer {_token(shop)}"})
    assert resp.status_code == 200 and resp.json is not None
    [found] = resp.json["data"]
    assert (found["decision_id"], found["status"], found["lines"]) == (
        decision, "instructions",
        [{"line_id": "l1", "name": "Mug", "quantity": 2, "reason": "changed_mind"}])


def test_a_search_without_a_return_address_says_why_nothing_is_waiting(
    returns_service: Callable[..., Returns],
) -> None:
    bare = returns_service(POLICY, label=False, return_addresses=())
    bare.paid()
    bare.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])
    auth = {"Authorization": f"Bearer {_token(bare)}"}

    page = bare.h.client().get("/finance/receive?q=1001", headers=auth).get_data(as_text=True)

    assert '<p class="error">No return found for “1001”. No return address is configured, ' \
        "so no return is waiting for a parcel: see docs/returns-shipping.md.</p>" in page
