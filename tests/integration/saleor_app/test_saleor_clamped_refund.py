"""A correction's refund Saleor made smaller than asked: staff requested a refund on the
transaction between our look and our request, and Saleor clamped ours to what was still
charged. The attempt was for 25.00, Saleor refunded 10.00: finance, and the customer's and the
merchant's messages, count what moved (the attempt's ``sent_amount``), as reconcile does, never
the 25.00 asked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from refunds_plugin.finance.detail import decision_detail
from refunds_plugin.finance.summary import summarize
from refunds_plugin.ledger.tables import outbox
from tests.fakes.saleor_harness import rows

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="


def test_a_refund_saleor_clamped_counts_what_it_refunded(installed: Any) -> None:
    shop = installed
    order = shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                                  paid_at="2026-11-20T10:00:00+00:00")
    order["transactions"][0]["chargedAmount"]["amount"] = Decimal("50.00")
    order["totalCharged"]["amount"] = Decimal("50.00")
    shop.saleor._charge_status(order)
    shop.webhook("ORDER_UPDATED", ORDER)  # overpayment 25.00 decided

    asked = shop.saleor._op_RefundsTransactionRefund
    staff: list[str] = []

    def staff_first(v: dict[str, Any]) -> dict[str, Any]:
        staff.append(shop.saleor.request_outside(ORDER, "40.00"))  # after our look
        return asked(v)

    shop.saleor._op_RefundsTransactionRefund = staff_first
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.amount, attempt.sent_amount, attempt.status) == (2500, 1000, "sent")

    shop.saleor.settle_request(TX, success=True, request_id=attempt.provider_reference)
    shop.webhook("ORDER_REFUNDED", ORDER)
    [attempt] = shop.attempts()
    assert attempt.status == "succeeded"

    summary = summarize(shop.engine, None, None, datetime(2026, 12, 1, tzinfo=UTC))
    [usd] = summary.to_json()["totals"]
    assert (usd["currency"], usd["refunded"], usd["sales"]) == ("USD", 1000, 5000)
    assert decision_detail(shop.engine, attempt.decision_id)["moved"] == (
        "10.00 USD refunded through saleor")
    told = {(r.kind, r.recipient): json.loads(r.context) for r in rows(shop, outbox)
            if r.cause == f"attempt:{attempt.id}"}
    assert {k: (c["amount"], c["currency"]) for k, c in told.items()} == {
        ("refund_sent", attempt.customer_email): (1000, "USD"),
        ("refund.succeeded", "merchant"): (1000, "USD")}
