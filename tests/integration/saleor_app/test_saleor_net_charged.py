"""Saleor's ``chargedAmount`` is net of refunds: a transaction the payment provider refunded in
full shows 0 charged and 40.00 refunded. The ledger takes captured as charged + refunded, so
the decision sees nothing left to refund instead of approving a 40.00 Saleor would refuse."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from refunds_plugin.ledger.tables import payments

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="
TX = "VHJhbnNhY3Rpb25JdGVtOjE="


def _payments(shop):
    with shop.engine.connect() as conn:
        return [(p.reference, p.captured, p.refunded_reported) for p in conn.execute(
            select(payments))]


def test_a_transaction_refunded_in_full_at_the_provider_leaves_nothing_refundable(installed):
    installed.saleor.add_order(ORDER, lines=[(LINE, 1, "35.00")], shipping="5.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    installed.saleor.refund_outside(ORDER, "40.00")
    tx = installed.saleor.orders[ORDER]["transactions"][0]
    assert (tx["chargedAmount"]["amount"], tx["refundedAmount"]["amount"]) == (0, 40)
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    assert _payments(installed) == [(TX, 4000, 4000)]

    body = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["amount"], body["refund_amount"]) == (
        "decline", "nothing_refundable", 0, 0)
    assert body["explanation"] == (
        "We're sorry, we can't accept this return. Everything paid for this order has "
        "already been refunded.")
    assert body["attempts"] == []
    installed.executor.drain()
    assert installed.saleor.mutations() == []  # nothing asked of Saleor, no money moved


def test_a_first_seen_order_already_refunded_in_part_counts_what_was_charged(installed):
    """Seen for the first time after 25.00 of 40.00 came back: captured 40.00, not 15.00."""
    installed.saleor.add_order(ORDER, lines=[(LINE, 1, "35.00")], shipping="5.00")
    installed.saleor.refund_outside(ORDER, "25.00")
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert _payments(installed) == [(TX, 4000, 2500)]
    body = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "review", "exceeds_refundable", 1500)
    assert body["attempts"] == [] and installed.saleor.mutations() == []


def test_a_refund_still_pending_in_saleor_is_counted_in_what_was_captured(installed):
    """Saleor moves a pending refund request out of ``chargedAmount`` into
    ``refundPendingAmount`` (``_recalculate_base_amounts``): an order first read while one is
    pending was still captured in full."""
    installed.saleor.add_order(ORDER, lines=[(LINE, 2, "12.50")], shipping="5.00")
    installed.saleor.request_outside(ORDER, "12.50")  # staff asked; the app has not answered
    tx = installed.saleor.orders[ORDER]["transactions"][0]
    assert (tx["chargedAmount"]["amount"], tx["refundPendingAmount"]["amount"]) == (
        Decimal("17.50"), Decimal("12.50"))
    assert installed.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200
    assert _payments(installed) == [(TX, 3000, 0)]
