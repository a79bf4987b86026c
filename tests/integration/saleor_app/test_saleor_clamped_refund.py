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


def test_the_part_saleor_did_not_refund_goes_to_a_person(installed: Any) -> None:
    """The attempt asked 25.00, Saleor refunded 10.00: the order's facts hold the 10.00 that
    was asked, not 25.00, and a review says the 15.00 was not refunded and why; nothing asks
    Saleor again, before or after a person approves it."""
    from refunds_plugin.intake.reviews import decide
    from refunds_plugin.ledger.facts import payment_facts
    from refunds_plugin.ledger.tables import reviews

    shop = installed
    order = shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                                  paid_at="2026-11-20T10:00:00+00:00")
    order["transactions"][0]["chargedAmount"]["amount"] = Decimal("50.00")
    order["totalCharged"]["amount"] = Decimal("50.00")
    shop.saleor._charge_status(order)
    shop.webhook("ORDER_UPDATED", ORDER)  # overpayment 25.00 decided

    asked = shop.saleor._op_RefundsTransactionRefund

    def staff_first(v: dict[str, Any]) -> dict[str, Any]:
        shop.saleor.request_outside(ORDER, "40.00")  # after our look
        return asked(v)

    shop.saleor._op_RefundsTransactionRefund = staff_first
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.amount, attempt.sent_amount, attempt.status) == (2500, 1000, "sent")
    with shop.engine.connect() as conn:
        [pay] = payment_facts(conn, ORDER)
    assert (pay.captured, pay.pending) == (5000, 1000)

    [review] = rows(shop, reviews)
    assert (review.decision_id, review.status) == (attempt.decision_id, "open")
    assert review.reason == (
        "refund_short: Saleor refunded 10.00 USD of the 25.00 USD asked; 15.00 USD was not "
        "refunded. Saleor refunds at most what is still charged on the transaction, and a "
        "refund requested on it meanwhile (by staff, say) took the rest. Check the "
        "transaction in the Saleor Dashboard and refund what the customer is still owed by "
        "hand; approving this review asks Saleor for nothing unless that refund fails.")
    refunds = len(shop.saleor.mutations("RefundsTransactionRefund"))
    assert refunds == 1

    shop.saleor.settle_request(TX, success=True, request_id=attempt.provider_reference)
    shop.webhook("ORDER_REFUNDED", ORDER)
    outcome = decide(shop.engine, shop.runtime.service, attempt.decision_id, approve=True,
                     by="ops", note="refunded the rest by hand",
                     now=datetime(2026, 11, 25, tzinfo=UTC))
    assert outcome.attempt_ids == ()
    shop.executor.drain()
    assert len(shop.saleor.mutations("RefundsTransactionRefund")) == 1
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.sent_amount) == ("succeeded", 1000)


def test_a_clamped_refund_that_then_fails_says_nothing_was_refunded(installed: Any) -> None:
    """Saleor cut the 25.00 asked to 10.00, and the review said 15.00 was not refunded; then
    the payment app refused the 10.00 too. The open review now says none of the 25.00 was
    refunded (not that 10.00 was), re-opened in the journal with those words; nothing is asked
    of Saleor again until a person approves."""
    from refunds_plugin.finance.verify import verify_ledger
    from refunds_plugin.ledger.tables import ledger_entries, reviews

    shop = installed
    order = shop.saleor.add_order(ORDER, lines=[(LINE, 2, "10.00")], shipping="5.00",
                                  paid_at="2026-11-20T10:00:00+00:00")
    order["transactions"][0]["chargedAmount"]["amount"] = Decimal("50.00")
    order["totalCharged"]["amount"] = Decimal("50.00")
    shop.saleor._charge_status(order)
    shop.webhook("ORDER_UPDATED", ORDER)  # overpayment 25.00 decided

    asked = shop.saleor._op_RefundsTransactionRefund

    def staff_first(v: dict[str, Any]) -> dict[str, Any]:
        shop.saleor.request_outside(ORDER, "40.00")  # after our look
        return asked(v)

    shop.saleor._op_RefundsTransactionRefund = staff_first
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.amount, attempt.sent_amount, attempt.status) == (2500, 1000, "sent")

    shop.saleor.settle_request(TX, success=False, request_id=attempt.provider_reference)
    shop.webhook("ORDER_REFUNDED", ORDER)
    shop.executor.drain()
    [attempt] = shop.attempts()
    assert (attempt.status, attempt.sent_amount) == ("failed", 1000)

    [review] = rows(shop, reviews)
    assert (review.decision_id, review.status) == (attempt.decision_id, "open")
    said = (
        "attempt_failed: Saleor reports the refund request REFUND_FAILURE. The refund Saleor "
        "had cut to 10.00 USD of the 25.00 USD asked did not go through: none of the "
        "25.00 USD was refunded.")
    assert review.reason == said
    entries = [(e.entry_type, json.loads(e.body).get("reason"))
               for e in sorted(rows(shop, ledger_entries), key=lambda e: e.seq)
               if e.subject_id == attempt.decision_id and e.entry_type.startswith("review")]
    assert [t for t, _ in entries] == ["review_opened", "review_reopened"]
    assert entries[1][1] == said
    assert len(shop.saleor.mutations("RefundsTransactionRefund")) == 1
    assert verify_ledger(shop.engine) == []  # the row's new words and time are the journal's
