"""``line_index.final_body``: a person's change to a return's amount, spread over its lines in
whole minor units, exchanged lines untouched, a waived fee moving no line."""

from __future__ import annotations

from typing import Any

from refunds_plugin.ledger.line_index import final_body, paid_body


def _body(**more: Any) -> dict[str, Any]:
    return {"currency": "EUR", "amount": 29405,
            "lines": [{"line_id": "l1", "amount": 10000}, {"line_id": "l2", "amount": 20000}],
            "fees": [{"code": "return_shipping", "amount": 595}], **more}


def _amounts(body: dict[str, Any]) -> list[int]:
    return [ln["amount"] for ln in body["lines"]]


def test_a_lower_amount_is_spread_in_proportion_with_the_remainder_to_the_largest_share() -> None:
    # 99.41 given + 5.95 fee kept = 105.36 before fees, over 100.00 and 200.00
    got = final_body(_body(), 9941, 595, 0)
    assert _amounts(got) == [3512, 7024]
    assert sum(_amounts(got)) == 10536
    assert (got["amount"], got["fees"]) == (9941, [{"code": "final", "amount": 595}])


def test_a_waived_fee_moves_no_line_and_leaves_no_fee() -> None:
    got = final_body(_body(), 30000, 0, 0)
    assert (_amounts(got), got["fees"]) == ([10000, 20000], [])


def test_an_exchanged_line_keeps_its_value_and_the_others_take_the_change() -> None:
    swapped = _body(exchange={"lines": [{"line_id": "l2"}]})
    assert _amounts(final_body(swapped, 19405, 595, 0)) == [0, 20000]


def test_the_same_change_written_twice_gives_the_same_body() -> None:
    once = final_body(_body(), 1, 595, 250)
    assert final_body(_body(), 1, 595, 250) == once
    assert (_amounts(once), once["resolutions"]) == ([199, 397], [{"bonus": 250}])


def _rounded() -> dict[str, Any]:
    # 20.005 + 10.000 KWD less a 1.500 fee = 28.505, refunded as 28.500 (Stripe's 0.010 step)
    return {"currency": "KWD", "amount": 28500,
            "lines": [{"line_id": "l1", "amount": 20005}, {"line_id": "l2", "amount": 10000}],
            "fees": [{"code": "return_shipping", "amount": 1500}],
            "trace": [{"rule": "rounding", "code": "provider_rounding",
                       "saw": {"wanted": 28505, "refunded": 28500, "not_refunded": 5}}]}


def test_what_the_providers_step_left_out_is_taken_off_the_lines_once() -> None:
    paid = paid_body(_rounded())
    assert _amounts(paid) == [20002, 9998]  # 30.000 KWD before fees: 28.500 paid + 1.500 fee
    assert paid_body(paid) == paid
    # an approval with the policy's own figures changes nothing more; another amount is
    # spread from the values as paid
    assert _amounts(final_body(_rounded(), 28500, 1500, 0)) == [20002, 9998]
    assert sum(_amounts(final_body(_rounded(), 20000, 1500, 0))) == 21500


def _capped(refundable: int) -> dict[str, Any]:
    # 10.00 + 30.00 EUR asked back, the order's payment holding only ``refundable`` of it (not
    # captured yet, disputed, or partly refunded already): the policy's refundable cap
    over = 4000 - refundable
    return {"currency": "EUR", "amount": refundable, "shipping_refund": 0,
            "lines": [{"line_id": "l1", "amount": 1000}, {"line_id": "l2", "amount": 3000}],
            "fees": [],
            "trace": [{"rule": "refundable_cap", "code": "exceeds_refundable",
                       "saw": {"over_by": over, "refundable": refundable}}]}


def test_what_the_refundable_cap_took_off_is_taken_off_the_lines_once() -> None:
    """An order whose payment had not arrived: its return was decided at 0.00 and approved so,
    yet the insights counted the lines' 40.00 as money returned."""
    assert _amounts(paid_body(_capped(0))) == [0, 0]
    paid = paid_body(_capped(2000))
    assert _amounts(paid) == [500, 1500]
    assert paid_body(paid) == paid


def test_an_approval_of_a_capped_return_spreads_from_the_lines_values_not_on_top_of_them() -> None:
    """The payment arrived and a person approved the full 40.00: the lines are 10.00 and 30.00,
    not 50.00 and 30.00 (the change added to lines that still held their uncapped values)."""
    assert _amounts(final_body(_capped(0), 4000, 0, 0)) == [1000, 3000]
    assert _amounts(final_body(_capped(0), 0, 0, 0)) == [0, 0]
    assert _amounts(final_body(_capped(2000), 2000, 0, 0)) == [500, 1500]
