"""An order voucher spread over a line: Saleor rounds the unit price (3 × 81.67) but charged the
line's total (245.00). Returning every unit refunds exactly the line total; fewer units refund
whole cents of it, the last unit taking the rounding remainder."""

from __future__ import annotations

from sqlalchemy import select

from refunds_plugin.ledger.tables import decisions

ORDER = "T3JkZXI6MQ=="
LINE = "T3JkZXJMaW5lOjE="


def _paid(shop):
    # 3 × 100.00 less a 55.00 order voucher: the line costs 245.00, Saleor shows 81.67 a unit
    order = shop.saleor.add_order(ORDER, lines=[(LINE, 3, "100.00")], shipping="5.00",
                                  voucher="55.00")
    assert str(order["lines"][0]["unitPrice"]["gross"]["amount"]) == "81.67"
    assert str(order["total"]["gross"]["amount"]) == "250.00"
    assert shop.webhook("ORDER_FULLY_PAID", ORDER).status_code == 200


def test_returning_all_three_units_refunds_exactly_the_line_total_and_the_shipping(installed):
    _paid(installed)
    resp = installed.return_request(ORDER, [(LINE, 3, "changed_mind")])
    body = resp.get_json()
    assert (body["outcome"], body["reason_code"], body["refund_amount"]) == (
        "approve", "approved", 25000)  # 245.00 for the line + 5.00 shipping, not 245.01
    with installed.engine.connect() as conn:
        [explanation] = conn.execute(select(decisions.c.explanation)).scalars().all()
    assert explanation == (
        "Your return of 3 × Shirt (M) is approved. We will refund 250.00 USD to your original "
        "payment. This includes 5.00 USD for the original shipping. Please send back: "
        "3 × Shirt (M). The money will be on its way within 48 hours.")
    installed.executor.drain()
    [(_, grant)] = installed.saleor.mutations("RefundsGrantRefund")
    assert grant["input"]["amount"] == "250.00"


def test_one_unit_of_three_refunds_a_whole_cent_share_and_the_last_gets_the_remainder(
    installed,
):
    _paid(installed)
    first = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (first["outcome"], first["refund_amount"]) == ("approve", 8166)  # 245.00 / 3, floored
    installed.executor.drain()
    second = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    assert (second["outcome"], second["refund_amount"]) == ("approve", 8166)
    installed.executor.drain()
    last = installed.return_request(ORDER, [(LINE, 1, "changed_mind")]).get_json()
    # 245.00 − 2 × 81.66 = 81.68 for the last unit, with the shipping now that all came back
    assert (last["outcome"], last["refund_amount"]) == ("approve", 8168 + 500)
