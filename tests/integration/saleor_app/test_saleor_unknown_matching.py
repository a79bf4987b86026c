"""A REFUND_REQUEST that belongs to a granted refund (``transactionRequestRefundForGrantedRefund``,
ours or a staff member's) is never taken for a ``transactionRequestAction`` correction of the
same amount whose request may not have reached Saleor: neither by the webhook that settles an
unknown attempt nor by the provider's own retry looking for its request."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger.tables import provider_refunds
from refunds_plugin.saleor.graphql import ATTEMPT_MARK
from tests.fakes.saleor_api import money
from tests.integration.saleor_app.test_saleor_unknown_settled import (
    EXTRA,
    LINE,
    ORDER,
    _out_of_tries,
)

GRANT = "T3JkZXJHcmFudGVkUmVmdW5kOjk5"
REASONS = {
    "ours": f"{ATTEMPT_MARK}0b6f1c2e-7d4a-4c1b-9e55-3f2a8d7c6b10: decision d-1",
    "staff": "goodwill, agreed on the phone",
}


def _duplicate_charge(shop: Any) -> None:
    shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                          paid_at="2026-11-20T10:00:00+00:00")
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    shop.saleor.add_transaction(ORDER, "25.00", "2026-11-20T10:03:00+00:00", EXTRA)
    assert "duplicate_charge 25.00 USD" in shop.webhook("ORDER_UPDATED", ORDER).get_json()["note"]


def _granted_request(shop: Any, reason: str) -> str:
    """Saleor as it is after ``transactionRequestRefundForGrantedRefund`` of 25.00 on EXTRA: a
    granted refund and its REFUND_REQUEST, linked by the grant's ``transactionEvents``."""
    order = shop.saleor.orders[ORDER]
    tx = next(t for t in order["transactions"] if t["id"] == EXTRA)
    request = {"id": "ev:grant-request", "type": "REFUND_REQUEST",
               "createdAt": "2026-11-24T12:40:00+00:00", "pspReference": None,
               "amount": money("25.00", shop.saleor.currency)}
    tx["events"].append(request)
    tx["refundPendingAmount"]["amount"] += Decimal("25.00")
    order["totalRefundPending"]["amount"] += Decimal("25.00")
    order["grantedRefunds"].append({
        "id": GRANT, "status": "PENDING", "reason": reason,
        "createdAt": "2026-11-24T12:39:00+00:00", "updatedAt": "2026-11-24T12:40:00+00:00",
        "amount": money("25.00", shop.saleor.currency), "transaction": {"id": EXTRA},
        "lines": [], "transactionEvents": [{"id": request["id"]}]})
    order["updatedAt"] = "2026-11-24T12:40:00+00:00"
    return str(request["id"])


@pytest.mark.parametrize("whose", sorted(REASONS))
def test_a_granted_refunds_request_does_not_settle_an_unknown_correction_that_never_reached_saleor(
    installed, clock, whose
):
    _duplicate_charge(installed)
    # the correction's request never reaches Saleor; its retry cannot read the order
    attempt = _out_of_tries(installed, clock, {"RefundsTransactionRefund": ["network_before"],
                                               "RefundsOrder": ["network_before"]})
    assert installed.saleor.mutations("RefundsTransactionRefund") == []
    request_id = _granted_request(installed, REASONS[whose])
    installed.saleor.settle_request(EXTRA)  # the grant's request succeeds

    answer = installed.webhook("ORDER_REFUNDED", ORDER).get_json()

    assert f"attempt {attempt.id}" not in answer["note"]
    [row] = installed.attempts()
    assert (row.status, row.provider_reference, row.last_error) == (
        "unknown", None, attempt.last_error)
    with installed.engine.connect() as conn:
        refunds = [(r.refund_id, r.attempt_id, r.amount, r.status)
                   for r in conn.execute(select(provider_refunds))]
    assert refunds == [(GRANT, None, 2500, "pending")]
    assert request_id not in {r[0] for r in refunds}
    assert verify_ledger(installed.engine) == []


def test_the_correction_retry_does_not_adopt_a_granted_refunds_request_and_asks_itself(
    installed, clock
):
    _duplicate_charge(installed)
    installed.executor.config = replace(installed.runtime.config, executor_max_tries=3)
    installed.saleor.fail.update({"RefundsTransactionRefund": ["network_before"]})
    installed.executor.drain()
    [attempt] = installed.attempts()
    assert (attempt.status, attempt.provider_reference) == ("pending", None)  # to retry
    grant_request = _granted_request(installed, REASONS["staff"])
    clock.advance(3600)

    installed.executor.drain()

    [row] = installed.attempts()
    events = next(t for t in installed.saleor.orders[ORDER]["transactions"]
                  if t["id"] == EXTRA)["events"]
    own = [e["id"] for e in events if e["type"] == "REFUND_REQUEST" and e["id"] != grant_request]
    assert len(own) == 1
    assert (row.status, row.provider_reference) == ("sent", own[0])
    assert installed.saleor.mutations("RefundsTransactionRefund") == [
        ("RefundsTransactionRefund", {"id": EXTRA, "amount": "25.00"})]
